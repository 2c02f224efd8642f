"""API for the signed-in user: who am I, and my memberships."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from trials.access import active_memberships


class MembershipOutput(serializers.Serializer):
    trial = serializers.CharField(source="trial.code")
    site = serializers.CharField(source="site.code", allow_null=True, default=None)
    role = serializers.CharField()


class MeOutput(serializers.Serializer):
    username = serializers.CharField()
    name = serializers.CharField(source="display_name")
    language = serializers.CharField()
    memberships = MembershipOutput(many=True)


class MeView(APIView):
    @extend_schema(responses=MeOutput, summary="The signed-in user and their memberships")
    def get(self, request: Request) -> Response:
        user = request.user
        data = {
            "username": user.username,
            "display_name": user.display_name(),  # type: ignore[union-attr]
            "language": user.language,  # type: ignore[union-attr]
            "memberships": list(active_memberships(user)),
        }
        return Response(MeOutput(data).data)
