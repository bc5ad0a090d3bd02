"""Rollout waves in the API (issue 13): ``rollout-waves/`` lists the waves with each site's stage and whether it is
on plan (the user's sites; enterprise admins: all), an enterprise admin plans one (``POST``) and sets its sites
(``POST rollout-waves/{code}/sites/``). Every write is ``governance.services.rollout``'s."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound as DRFNotFound

from core.api.mixins import ApiViewMixin, IdempotentCreateMixin
from governance import permissions
from governance.models import RolloutWave, Site
from governance.services.rollout import create_wave, set_wave_sites, wave_progress, waves_for


class _SiteCodes(serializers.ListField):
    child = serializers.CharField(max_length=20)


def _sites(user, codes: list[str]) -> list[Site]:
    """The named sites, or a 400 naming the unknown ones (a site the user cannot see reads as unknown)."""
    found = {s.code: s for s in permissions.visible_sites(user).filter(code__in=codes)}
    unknown = [c for c in codes if c not in found]
    if unknown:
        raise serializers.ValidationError({"sites": [f"No site {', '.join(unknown)}."]})
    return [found[c] for c in dict.fromkeys(codes)]


class RolloutWaveSiteSerializer(serializers.Serializer):
    site = serializers.CharField(source="site.code")
    stage = serializers.CharField(source="site.stage")
    status = serializers.CharField(help_text="on plan, behind or done")
    behind = serializers.ListField(child=serializers.CharField(), help_text="Stages whose planned day passed")
    reached = serializers.DictField(child=serializers.DateField(), help_text="Stage -> the day it was reached")


class RolloutWaveSerializer(serializers.ModelSerializer):
    sites = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()

    class Meta:
        model = RolloutWave
        fields = ["code", "name", "planned_cutover", "planned_pilot", "planned_go_live", "note", "status", "sites"]

    def _progress(self, wave):
        cache = self.context.setdefault("_progress", {})
        if wave.pk not in cache:
            cache[wave.pk] = wave_progress([wave])[0]
        return cache[wave.pk]

    def get_status(self, wave) -> str:
        return self._progress(wave).status

    @extend_schema_field(RolloutWaveSiteSerializer(many=True))
    def get_sites(self, wave) -> list[dict]:
        request = self.context.get("request")
        visible = set(permissions.visible_sites(request.user).values_list("pk", flat=True)) if request else set()
        rows = [p for p in self._progress(wave).sites if p.site.pk in visible]
        return RolloutWaveSiteSerializer(rows, many=True).data


class RolloutWaveInputSerializer(serializers.Serializer):
    code = serializers.SlugField(max_length=20)
    name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    planned_cutover = serializers.DateField()
    planned_pilot = serializers.DateField(required=False, allow_null=True)
    planned_go_live = serializers.DateField()
    note = serializers.CharField(max_length=500, required=False, allow_blank=True)
    sites = _SiteCodes(required=False, help_text="Site codes")


class WaveSitesSerializer(serializers.Serializer):
    sites = _SiteCodes(help_text="The wave's sites from now on (a live site cannot leave its wave)")


class RolloutWaveViewSet(
    ApiViewMixin, IdempotentCreateMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Rollout waves: planned dates and each site's progress against them."""

    serializer_class = RolloutWaveSerializer
    lookup_field = "code"
    lookup_value_regex = r"[A-Za-z0-9_-]+"
    pagination_class = None

    def get_queryset(self):
        return RolloutWave.objects.filter(pk__in=[w.pk for w in waves_for(self.request.user)]).order_by(
            "planned_cutover", "code"
        )

    def get_serializer_class(self):
        return RolloutWaveInputSerializer if self.action == "create" else RolloutWaveSerializer

    def get_output_serializer_class(self):
        return RolloutWaveSerializer

    @extend_schema(request=RolloutWaveInputSerializer, responses={201: RolloutWaveSerializer})
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer):
        v = dict(serializer.validated_data)
        sites = _sites(self.request.user, v.pop("sites", []))
        return create_wave(user=self.request.user, sites=sites, **v)

    @extend_schema(request=WaveSitesSerializer, responses={200: RolloutWaveSerializer})
    @action(detail=True, methods=["post"], url_path="sites")
    def set_sites(self, request, code=None):
        wave = RolloutWave.objects.filter(code=code).first()
        if wave is None or wave.pk not in {w.pk for w in waves_for(request.user)}:
            raise DRFNotFound("No such rollout wave.")
        data = WaveSitesSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        wave = set_wave_sites(user=request.user, wave=wave, sites=_sites(request.user, data.validated_data["sites"]))
        return self.respond(wave)
