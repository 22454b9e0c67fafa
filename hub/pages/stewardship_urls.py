"""URLs of the data stewards' pages, mounted at /portal/stewardship/ by hub.urls."""

from django.urls import path

from hub.pages import stewardship

app_name = "stewardship"

urlpatterns = [
    path("duplicates/", stewardship.reviews, name="duplicate-reviews"),
    path("duplicates/<int:pk>/", stewardship.review, name="duplicate-review"),
    path("duplicates/<int:pk>/merge/", stewardship.merge, name="duplicate-merge"),
    path("duplicates/<int:pk>/dismiss/", stewardship.dismiss, name="duplicate-dismiss"),
]
