"""URLs of the governance board's pages, mounted at /governance/ by hub.urls."""

from django.urls import path

from governance.pages import board, catalog, subscriptions, versions

app_name = "governance"

_VERSION = "apis/<slug:slug>/versions/<str:version>/"

urlpatterns = [
    path("", catalog.catalog, name="catalog"),
    path("reviews/", board.reviews, name="reviews"),
    path("contracts/<str:event_type>/", catalog.contract_detail, name="contract"),
    path("notices/<slug:slug>/<str:version>/", catalog.notice, name="notice"),
    path("apis/<slug:slug>/", catalog.product_detail, name="product"),
    path("apis/<slug:slug>/upload/", versions.version_upload, name="upload"),
    path(_VERSION, versions.version_detail, name="version"),
    path(_VERSION + "openapi.json", versions.version_openapi, name="openapi"),
    path(_VERSION + "diff/", versions.version_diff, name="diff"),
    path(_VERSION + "submit/", versions.version_submit, name="submit"),
    path(_VERSION + "withdraw/", versions.version_withdraw, name="withdraw"),
    path(_VERSION + "waive/", versions.version_waive, name="waive"),
    path(_VERSION + "subscribe/", subscriptions.subscribe, name="subscribe"),
    path("subscriptions/<int:pk>/decide/", subscriptions.decide, name="subscription-decide"),
    path(_VERSION + "retire/", versions.version_retire, name="retire"),
    path(_VERSION + "block/", versions.version_block, name="block"),
    path(_VERSION + "unblock/", versions.version_unblock, name="unblock"),
    path(_VERSION + "review/", board.review, name="review"),
    path(_VERSION + "deprecate/", board.deprecate, name="deprecate"),
]
