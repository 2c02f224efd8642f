"""API for the signed-in user: who am I, and my API tokens."""

from __future__ import annotations

from typing import cast

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiToken, User
from accounts.services import token_create, token_revoke
from ecrf.access import active_memberships


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


class TokenOutput(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "revoked_at"]


class TokenCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)


class TokenCreatedOutput(TokenOutput):
    key = serializers.CharField(help_text="Shown once; store it safely.")

    class Meta(TokenOutput.Meta):
        fields = [*TokenOutput.Meta.fields, "key"]


class TokenListView(APIView):
    @extend_schema(responses=TokenOutput(many=True), summary="My API tokens")
    def get(self, request: Request) -> Response:
        tokens = ApiToken.objects.filter(user=cast(User, request.user)).order_by("-created_at")
        return Response(TokenOutput(tokens, many=True).data)

    @extend_schema(
        request=TokenCreateInput,
        responses={201: TokenCreatedOutput},
        summary="Create an API token (the key is shown once)",
    )
    def post(self, request: Request) -> Response:
        params = TokenCreateInput(data=request.data)
        params.is_valid(raise_exception=True)
        token, key = token_create(
            user=request.user, name=params.validated_data["name"], now=timezone.now()
        )
        token.key = key  # type: ignore[attr-defined]
        return Response(TokenCreatedOutput(token).data, status=status.HTTP_201_CREATED)


class TokenRevokeView(APIView):
    @extend_schema(request=None, responses=TokenOutput, summary="Revoke one of my API tokens")
    def post(self, request: Request, token_id: int) -> Response:
        token = token_revoke(user=request.user, token_id=token_id, now=timezone.now())
        return Response(TokenOutput(token).data)
