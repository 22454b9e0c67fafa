"""The one pagination class of the API: a cursor, so pages stay stable while rows are written."""

from django.core.exceptions import FieldDoesNotExist, ValidationError
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination


class StableCursorPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = ("-updated_at", "-id")

    def paginate_queryset(self, queryset, request, view=None):
        self._model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request):
        """DRF's cursor, its position checked as a value of the ordering's field.

        DRF filters by the position as it comes: a truncated or edited cursor (``p=2026``) made the
        filter raise a ValidationError, a 500. Such a cursor is invalid, as one that does not decode is.
        """
        cursor = super().decode_cursor(request)
        if cursor is None or cursor.position is None:
            return cursor
        try:
            field = self._model._meta.get_field(self.ordering[0].lstrip("-"))
        except FieldDoesNotExist:  # ordered by an annotation: nothing to check it against
            return cursor
        try:
            field.clean(cursor.position, None)
        except (ValidationError, ValueError, OverflowError):
            raise NotFound(self.invalid_cursor_message) from None
        return cursor
