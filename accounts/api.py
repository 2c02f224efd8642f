"""API for the signed-in user: my API tokens."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiToken
from accounts.selectors import token_list
from accounts.services import token_create, token_revoke
from accounts.two_factor import session_verified, two_factor_required
from ecrf.errors import PermissionDeniedError


class TokenOutput(serializers.ModelSerializer):
    active = serializers.BooleanField(
        read_only=True, help_text="Neither revoked nor expired: the token can be used."
    )

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "active",
        ]


class TokenCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    password = serializers.CharField(
        write_only=True,
        trim_whitespace=False,
        style={"input_type": "password"},
        help_text="Your password, entered again.",
    )
    expires_in_days = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        help_text="Days until the token expires; at most, and by default, the deployment's "
        "maximum (API_TOKEN_DAYS, 90 unless configured).",
    )


class TokenCreatedOutput(TokenOutput):
    key = serializers.CharField(help_text="Shown once; store it safely.")

    class Meta(TokenOutput.Meta):
        fields = [*TokenOutput.Meta.fields, "key"]


class TokenListView(APIView):
    @extend_schema(responses=TokenOutput(many=True), summary="My API tokens")
    def get(self, request: Request) -> Response:
        tokens = token_list(request.user, now=timezone.now())
        return Response(TokenOutput(tokens, many=True).data)

    @extend_schema(
        request=TokenCreateInput,
        responses={201: TokenCreatedOutput},
        summary="Create an API token (the key is shown once)",
        description="Only from a signed-in session (verified with a second factor when the "
        "user's role requires one), never with another token; the password is entered again "
        "and a wrong one counts towards the account lockout.",
    )
    def post(self, request: Request) -> Response:
        if request.auth is not None:
            raise PermissionDeniedError(
                "Create tokens while signed in to the site, not with another token."
            )
        if two_factor_required(request.user) and not session_verified(request.user):
            raise PermissionDeniedError(
                "Finish signing in with your second factor before creating a token."
            )
        params = TokenCreateInput(data=request.data)
        params.is_valid(raise_exception=True)
        token, key = token_create(
            user=request.user,
            name=params.validated_data["name"],
            password=params.validated_data["password"],
            expires_in_days=params.validated_data.get("expires_in_days"),
            # The Django request, so that the account lockout counts a wrong password.
            request=request._request,
            now=timezone.now(),
        )
        token.active = True  # type: ignore[attr-defined]
        token.key = key  # type: ignore[attr-defined]
        return Response(TokenCreatedOutput(token).data, status=status.HTTP_201_CREATED)


class TokenRevokeView(APIView):
    @extend_schema(
        request=None,
        responses=TokenOutput,
        summary="Revoke one of my API tokens, for good",
    )
    def post(self, request: Request, token_id: int) -> Response:
        now = timezone.now()
        token = token_revoke(user=request.user, token_id=token_id, now=now)
        token.active = token.is_active(now)  # type: ignore[attr-defined]
        return Response(TokenOutput(token).data)
