"""Strategic merge patch merges the lists whose Go types say ``patchStrategy: merge``, as a real API
server does; every other list is replaced as in a JSON merge patch."""

from __future__ import annotations

from shipway_sandbox.emulator.patches import STRATEGIC, apply_patch


def test_image_pull_secrets_are_merged_by_name_and_new_ones_appended_after_the_existing() -> None:
    account = {"imagePullSecrets": [{"name": "theirs"}, {"name": "also-theirs"}]}
    patched = apply_patch(STRATEGIC, account, {"imagePullSecrets": [{"name": "ours"}]})
    assert patched["imagePullSecrets"] == [{"name": "theirs"}, {"name": "also-theirs"}, {"name": "ours"}]


def test_an_image_pull_secret_already_listed_is_not_duplicated() -> None:
    account = {"imagePullSecrets": [{"name": "ours"}, {"name": "theirs"}]}
    patched = apply_patch(STRATEGIC, account, {"imagePullSecrets": [{"name": "ours"}]})
    assert patched["imagePullSecrets"] == [{"name": "ours"}, {"name": "theirs"}]


def test_patch_delete_directive_removes_only_the_named_item() -> None:
    account = {"imagePullSecrets": [{"name": "a"}, {"name": "ours"}, {"name": "b"}]}
    patched = apply_patch(STRATEGIC, account, {"imagePullSecrets": [{"name": "ours", "$patch": "delete"}]})
    assert patched["imagePullSecrets"] == [{"name": "a"}, {"name": "b"}]


def test_finalizers_are_unioned_and_delete_from_primitive_list_removes() -> None:
    body = {"metadata": {"finalizers": ["a", "b"]}}
    added = apply_patch(STRATEGIC, body, {"metadata": {"finalizers": ["b", "c"]}})
    assert added["metadata"]["finalizers"] == ["a", "b", "c"]
    removed = apply_patch(STRATEGIC, added, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}})
    assert removed["metadata"]["finalizers"] == ["b", "c"]


def test_lists_without_a_merge_strategy_are_replaced() -> None:
    role = {"rules": [{"verbs": ["get"]}, {"verbs": ["list"]}]}
    patched = apply_patch(STRATEGIC, role, {"rules": [{"verbs": ["watch"]}]})
    assert patched["rules"] == [{"verbs": ["watch"]}]
