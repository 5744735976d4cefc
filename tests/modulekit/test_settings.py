"""One settings loader: every missing or invalid variable named at once, unsafe secrets refused."""

import msgspec
import pytest

from modulekit.settings import ModuleSettings, Secret, SettingsError, load_settings

GOOD_KEY = "k" * 40


class WidgetSettings(ModuleSettings, frozen=True, kw_only=True):
    schema_prefix: str = "widget_"
    widgets_per_page: int = 20
    signing_secret: Secret = ""


def test_reads_variables_named_after_fields() -> None:
    settings = load_settings(WidgetSettings, {
        "DATABASE_URL": "postgresql://db/x", "MODULE_API_KEY": GOOD_KEY, "SIGNING_SECRET": GOOD_KEY,
        "WIDGETS_PER_PAGE": "50", "CORE_URL": "http://core:8000", "RUN_MIGRATIONS": "false",
    })
    assert settings.widgets_per_page == 50 and settings.run_migrations is False
    assert settings.keys_url == "http://core:8000/api/v1/auth/jwks"
    assert settings.data_url == settings.bus_url == "postgresql://db/x"


def test_every_missing_and_invalid_variable_is_named_in_one_error() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(WidgetSettings, {"WIDGETS_PER_PAGE": "many", "DATABASE_STRATEGY": "sideways"},
                      service="widgets")
    message = str(caught.value)
    assert message.startswith("widgets cannot start")
    for name in ("DATABASE_URL is missing", "WIDGETS_PER_PAGE='many' is invalid", "DATABASE_STRATEGY='sideways'"):
        assert name in message


def test_separate_strategy_needs_the_module_database() -> None:
    with pytest.raises(SettingsError, match="MODULE_DATABASE_URL"):
        load_settings(WidgetSettings, {"DATABASE_URL": "postgresql://db/x", "DATABASE_STRATEGY": "separate",
                                       "BUILDIFY_DEV_MODE": "1"})


def test_unsafe_secrets_are_refused_outside_dev_mode() -> None:
    env = {"DATABASE_URL": "postgresql://db/x", "MODULE_API_KEY": "changeme"}
    with pytest.raises(SettingsError) as caught:
        load_settings(WidgetSettings, env)
    assert "MODULE_API_KEY" in str(caught.value) and "SIGNING_SECRET" in str(caught.value)
    assert load_settings(WidgetSettings, {**env, "BUILDIFY_DEV_MODE": "1"}).module_api_key == "changeme"


class ListSettings(msgspec.Struct, frozen=True, kw_only=True):
    entry_points: list[str] = msgspec.field(default_factory=list)
    upstreams: dict[str, str] = msgspec.field(default_factory=dict)


def test_lists_and_name_value_pairs_are_read_from_comma_separated_text() -> None:
    settings = load_settings(ListSettings, {"ENTRY_POINTS": "web, websecure", "UPSTREAMS": "a=http://a:1,b=http://b"})
    assert settings.entry_points == ["web", "websecure"]
    assert settings.upstreams == {"a": "http://a:1", "b": "http://b"}
    with pytest.raises(SettingsError, match="UPSTREAMS"):
        load_settings(ListSettings, {"UPSTREAMS": "a-without-value"})
