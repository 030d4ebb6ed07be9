"""The site's front page, each role's home: included at "" by the root URLconf, outside the reports namespace."""

from django.urls import path

from reports import views

urlpatterns = [path("", views.home, name="home")]
