from django.urls import path

from bench.bare.views import BareRowCreate

urlpatterns = [path("rows", BareRowCreate.as_view(), name="bench-bare-rows")]
