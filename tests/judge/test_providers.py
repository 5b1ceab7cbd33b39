"""What judge knows of providers without importing litellm agrees with litellm."""

from __future__ import annotations

import pytest

from judge.judging.providers.call import KEY_OF_PROVIDER, check_judge_configured
from judge.judging.providers.sdk import litellm_module


@pytest.mark.parametrize("provider", sorted(KEY_OF_PROVIDER))
def test_the_key_each_provider_needs_is_the_one_litellm_asks_for(
    provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    litellm = litellm_module()
    model = f"{provider}/some-model"
    key = KEY_OF_PROVIDER[provider]
    if key is not None:
        monkeypatch.delenv(key, raising=False)
    asked = litellm.validate_environment(model=model)["missing_keys"]
    assert asked == ([key] if key else [])
    if key is None:
        assert check_judge_configured(model, None) is None
        return
    assert f"needs {key}" in (check_judge_configured(model, None) or "")
    monkeypatch.setenv(key, "sk-test-0123456789")
    assert litellm.validate_environment(model=model)["missing_keys"] == []
    assert check_judge_configured(model, None) is None


def test_other_providers_and_bare_names_are_asked_of_litellm(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert "OPENAI_API_KEY" in (check_judge_configured("gpt-4o-mini", None) or "")
    monkeypatch.delenv("AZURE_API_KEY", raising=False)
    assert "AZURE_API_KEY" in (check_judge_configured("azure/my-deployment", None) or "")
    assert check_judge_configured("anthropic/x", "http://127.0.0.1:1/v1") is None
