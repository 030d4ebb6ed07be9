"""The site's front page, each role's home: included at "" by the root URLconf, outside the dashboards namespace."""

from django.urls import path

from dashboards import views

urlpatterns = [path("", views.home, name="home")]
