"""URLs: each page beside its JSON twin."""

from django.contrib.auth import views as auth_views
from django.urls import path

from recorder_ui import views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("overview.json", views.overview_json, name="overview_json"),
    path("recordings/", views.recording_list, name="recording_list"),
    path("recordings.json", views.recording_list_json, name="recording_list_json"),
    path("recordings/<int:pk>/", views.recording_detail, name="recording_detail"),
    path("recordings/<int:pk>.json", views.recording_detail_json, name="recording_detail_json"),
    path("recordings/<int:pk>/chunks/", views.recording_chunks, name="recording_chunks"),
    path("recordings/<int:pk>/chunks.json", views.recording_chunks_json, name="recording_chunks_json"),
    path("recordings/<int:pk>/raw/", views.recording_raw, name="recording_raw"),
    path("recordings/<int:pk>/raw.json", views.recording_raw_json, name="recording_raw_json"),
    path("tests/", views.test_list, name="test_list"),
    path("tests.json", views.test_list_json, name="test_list_json"),
    path("test/", views.test_detail, name="test_detail"),
    path("test.json", views.test_detail_json, name="test_detail_json"),
    path("missing-usage/", views.missing_usage, name="missing_usage"),
    path("missing-usage.json", views.missing_usage_json, name="missing_usage_json"),
    path("cleanup/", views.cleanup, name="cleanup"),
    path("cleanup.json", views.cleanup_json, name="cleanup_json"),
    path("find/", views.find, name="find"),
    path("find.json", views.find_json, name="find_json"),
    path("errors/", views.error_list, name="error_list"),
    path("errors.json", views.error_list_json, name="error_list_json"),
    path("diff/", views.recording_diff, name="recording_diff"),
    path("diff.json", views.recording_diff_json, name="recording_diff_json"),
    path("diff/pair/", views.recording_diff_pair, name="recording_diff_pair"),
    path("reindex/", views.reindex, name="reindex"),
    path("reindex/status/", views.reindex_status, name="reindex_status"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", views.Logout.as_view(), name="logout"),
]

handler404 = "recorder_ui.views.not_found"
handler500 = "recorder_ui.views.server_error"
