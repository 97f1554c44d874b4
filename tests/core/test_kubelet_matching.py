"""The kubelet's matching rules (pkg/credentialprovider/keyring.go), one table row per rule.

Every row is named by the sentence it proves. The ground truth is the kubelet, as summarised in
``registry-credentials.md``: image normalisation, auths key normalisation, per-label globs, exact ports,
plain string path prefixes, one reverse-sorted index over all pull secrets, and the Docker Hub fallback.
"""

from __future__ import annotations

import pytest

from shipway.core.errors import ImageReferenceError, RegistryHostError
from shipway.core.images import parse_image
from shipway.core.keyring import DEFAULT_REGISTRY_KEY, Keyring
from shipway.core.registry_keys import parse_key, validate_key
from tests.core.helpers import entries_of, lookup

DIGEST = "sha256:" + "0123456789abcdef" * 4


def case(id: str, *values: object) -> pytest.ParameterSet:
    return pytest.param(*values, id=id)


# --- image normalisation -------------------------------------------------------------------------

IMAGES = [
    case("a short name lives in docker.io/library", "nginx", "docker.io", "library/nginx"),
    case("a tag is dropped", "nginx:1.27", "docker.io", "library/nginx"),
    case("a digest is dropped", f"nginx@{DIGEST}", "docker.io", "library/nginx"),
    case("a tag and a digest are both dropped", f"nginx:1.27@{DIGEST}", "docker.io", "library/nginx"),
    case("a two-part name without a dot or colon lives on Docker Hub", "team/app", "docker.io", "team/app"),
    case("a three-part name without a host lives on Docker Hub", "team/sub/app:v1", "docker.io", "team/sub/app"),
    case("docker.io with one component gets library", "docker.io/nginx", "docker.io", "library/nginx"),
    case("index.docker.io becomes docker.io", "index.docker.io/team/app", "docker.io", "team/app"),
    case("index.docker.io with one component gets library", "index.docker.io/nginx", "docker.io",
         "library/nginx"),
    case("localhost keeps its host", "localhost/app", "localhost", "app"),
    case("localhost with a port keeps its host", "localhost:5000/app:v1", "localhost:5000", "app"),
    case("a host with a port keeps its host", "host:5000/app", "host:5000", "app"),
    case("a dotted host keeps its host", "quay.io/org/app:latest", "quay.io", "org/app"),
    case("an uppercase first component is a host", "Registry/app", "Registry", "app"),
    case("a single name with a port-like tag is a Docker Hub image with a tag", "host:5000", "docker.io",
         "library/host"),
    case("a bracketed IPv6 host with a port keeps its host", "[::1]:5000/app", "[::1]:5000", "app"),
]


@pytest.mark.parametrize(("reference", "domain", "path"), IMAGES)
def test_image_normalisation(reference: str, domain: str, path: str) -> None:
    ref = parse_image(reference)
    assert (ref.domain, ref.path) == (domain, path)
    assert ref.name == f"{domain}/{path}"


def test_tag_and_digest_are_kept_aside_not_in_the_name() -> None:
    ref = parse_image(f"quay.io/org/app:1.2@{DIGEST}")
    assert (ref.tag, ref.digest, ref.name) == ("1.2", DIGEST, "quay.io/org/app")


BAD_IMAGES = [
    case("an empty reference is refused", ""),
    case("surrounding spaces are refused", " nginx"),
    case("an uppercase repository is refused", "quay.io/Org/app"),
    case("an invalid tag is refused", "nginx:bad!tag"),
    case("an invalid digest is refused", "nginx@sha256:xyz"),
    case("an empty path component is refused", "quay.io//app"),
]


@pytest.mark.parametrize("reference", BAD_IMAGES)
def test_invalid_image_references_are_refused(reference: str) -> None:
    with pytest.raises(ImageReferenceError) as error:
        parse_image(reference, field="spec.image")
    assert error.value.field == "spec.image"


# --- auths key normalisation ---------------------------------------------------------------------

KEYS = [
    case("a key without a scheme is read as https", "quay.io", "quay.io", "", ""),
    case("https:// is dropped", "https://quay.io", "quay.io", "", ""),
    case("http:// is dropped", "http://quay.io", "quay.io", "", ""),
    case("the legacy Docker Hub URL becomes index.docker.io", "https://index.docker.io/v1/", "index.docker.io",
         "", ""),
    case("a /v2/ prefix is dropped and the rest of the path kept", "https://quay.io/v2/org", "quay.io", "",
         "/org"),
    case("a /v1/ prefix is dropped without a scheme too", "quay.io/v1/org", "quay.io", "", "/org"),
    case("a path of / counts as none", "quay.io/", "quay.io", "", ""),
    case("/v2/ alone counts as none", "https://quay.io/v2/", "quay.io", "", ""),
    case("/v2 without a trailing slash is an ordinary path", "quay.io/v2", "quay.io", "", "/v2"),
    case("only a path of exactly / is dropped, a trailing slash stays", "quay.io/org/", "quay.io", "", "/org/"),
    case("a port is kept as written", "registry.example.com:5000", "registry.example.com", "5000", ""),
    case("a port and a path are both kept", "http://registry.example.com:5000/v2/team",
         "registry.example.com", "5000", "/team"),
    case("a glob host is kept as written", "*.example.com", "*.example.com", "", ""),
]


@pytest.mark.parametrize(("key", "host", "port", "path"), KEYS)
def test_key_normalisation(key: str, host: str, port: str, path: str) -> None:
    for parsed in (parse_key(key), validate_key(key, field="k")):
        assert (parsed.host, parsed.port, parsed.path) == (host, port, path)
        assert parsed.text == f"{host}{':' + port if port else ''}{path}"


REFUSED_KEYS = [
    case("a ? inside a label is refused because the kubelet's URL parse cuts at it", "reg?.example.com"),
    case("a ? in the last label is refused", "registry.example.co?"),
    case("a # is refused because it starts a URL fragment", "registry.example.com/org#x"),
    case("an unclosed [ is refused", "reg[a.example.com"),
    case("an empty character class is refused", "reg[].example.com"),
    case("a range with no end is refused", "reg[a-].example.com"),
]


@pytest.mark.parametrize("key", REFUSED_KEYS)
def test_keys_the_kubelet_would_misread_are_refused_on_input(key: str) -> None:
    with pytest.raises(RegistryHostError) as error:
        validate_key(key, field="auths[x]")
    assert error.value.field == "auths[x]"


# --- matching ------------------------------------------------------------------------------------

MATCHES = [
    # hosts and labels
    case("a host-only key matches every repository on that host", [["quay.io"]], "quay.io/org/app", ["quay.io"]),
    case("a host-only key does not match another host", [["quay.io"]], "ghcr.io/org/app", []),
    case("a key with fewer labels does not match a subdomain", [["example.com"]], "a.example.com/app", []),
    case("*.example.com matches a.example.com", [["*.example.com"]], "a.example.com/app", ["*.example.com"]),
    case("*.example.com does not match example.com", [["*.example.com"]], "example.com/app", []),
    case("*.example.com does not match a.b.example.com", [["*.example.com"]], "a.b.example.com/app", []),
    case("reg*.example.com matches registry.example.com", [["reg*.example.com"]], "registry.example.com/app",
         ["reg*.example.com"]),
    case("reg*.example.com does not match mirror.example.com", [["reg*.example.com"]],
         "mirror.example.com/app", []),
    case("a glob in the last label matches", [["registry.example.*"]], "registry.example.org/app",
         ["registry.example.*"]),
    case("a [a-c] class matches a letter in the range", [["reg[a-c].example.com"]], "regb.example.com/app",
         ["reg[a-c].example.com"]),
    case("a [a-c] class does not match a letter outside it", [["reg[a-c].example.com"]],
         "regd.example.com/app", []),
    case("a negated [^a-c] class matches a letter outside the range", [["reg[^a-c].example.com"]],
         "regd.example.com/app", ["reg[^a-c].example.com"]),
    case("a negated [^a-c] class does not match a letter in the range", [["reg[^a-c].example.com"]],
         "rega.example.com/app", []),
    case("a class of single letters matches one of them", [["mirror[12].example.com"]],
         "mirror2.example.com/app", ["mirror[12].example.com"]),
    case("hosts compare case-sensitively like filepath.Match", [["Quay.io"]], "quay.io/org/app", []),
    # ports
    case("a key without a port does not match an image with :443", [["host.example.com"]],
         "host.example.com:443/app", []),
    case("a key with :443 does not match an image without a port", [["host.example.com:443"]],
         "host.example.com/app", []),
    case("equal ports match", [["host.example.com:5000"]], "host.example.com:5000/app",
         ["host.example.com:5000"]),
    case("ports compare as strings so 05000 is not 5000", [["host.example.com:05000"]],
         "host.example.com:5000/app", []),
    case("a glob host with a port matches only that port", [["*.example.com:5000"]], "a.example.com:5000/app",
         ["*.example.com:5000"]),
    case("localhost:5000 matches its own images", [["localhost:5000"]], "localhost:5000/app",
         ["localhost:5000"]),
    case("a bracketed IPv6 key with a port matches its images", [["[::1]:5000"]], "[::1]:5000/app",
         ["[::1]:5000"]),
    # paths
    case("a path key matches a repository under it", [["quay.io/org"]], "quay.io/org/app", ["quay.io/org"]),
    case("a path key is a plain string prefix with no / boundary", [["quay.io/org"]], "quay.io/organic/app",
         ["quay.io/org"]),
    case("a path key does not match another path", [["quay.io/org"]], "quay.io/other/app", []),
    case("a /v2/ path key matches after the prefix is dropped", [["https://quay.io/v2/org"]], "quay.io/org/app",
         ["https://quay.io/v2/org"]),
    case("a path key with a trailing slash needs the slash", [["quay.io/org/"]], "quay.io/organic/app", []),
    case("a docker.io/library key matches an official image", [["docker.io/library"]], "nginx:1.27",
         ["docker.io/library"]),
    # order and duplicates
    case("keys are tried in reverse lexicographic order so the path key comes first",
         [["quay.io", "quay.io/org"]], "quay.io/org/app", ["quay.io/org", "quay.io"]),
    case("the order is across all files together, not file by file", [["quay.io"], ["quay.io/org"]],
         "quay.io/org/app", ["quay.io/org", "quay.io"]),
    case("an exact host sorts before a glob for the same image", [["*.example.com", "registry.example.com"]],
         "registry.example.com/app", ["registry.example.com", "*.example.com"]),
    case("every matching key contributes, in reverse order",
         [["reg*.example.com", "registry.example.com", "registry.example.com/team"]],
         "registry.example.com/team/app",
         ["registry.example.com/team", "registry.example.com", "reg*.example.com"]),
    case("two files with the same normalised key are both tried in file order",
         [["quay.io"], ["https://quay.io/"]], "quay.io/app", ["quay.io", "https://quay.io/"]),
    case("the same duplicates in the other file order are tried in that order",
         [["https://quay.io/"], ["quay.io"]], "quay.io/app", ["https://quay.io/", "quay.io"]),
    case("merged duplicates keep their place in the sorted index",
         [["quay.io", "quay.io/org"], ["https://quay.io/v1/"]], "quay.io/org/app",
         ["quay.io/org", "quay.io", "https://quay.io/v1/"]),
    # Docker Hub fallback
    case("a short name falls back to the index.docker.io key", [["https://index.docker.io/v1/"]], "nginx",
         ["https://index.docker.io/v1/"]),
    case("a team image on Docker Hub falls back to index.docker.io", [["index.docker.io"]], "team/app",
         ["index.docker.io"]),
    case("an image written with index.docker.io falls back too", [["index.docker.io"]],
         "index.docker.io/team/app", ["index.docker.io"]),
    case("a docker.io key matches Docker Hub images directly", [["docker.io"]], "nginx", ["docker.io"]),
    case("the fallback does not fire when a docker.io key matched", [["docker.io", "index.docker.io"]],
         "team/app", ["docker.io"]),
    case("the fallback fires when only keys for other registries exist", [["quay.io", "index.docker.io"]],
         "nginx", ["index.docker.io"]),
    case("the fallback fires when a docker.io path key did not match", [["docker.io/team", "index.docker.io"]],
         "nginx", ["index.docker.io"]),
    case("a Docker Hub image with no index.docker.io key and no match gets nothing", [["docker.io/team"]],
         "nginx", []),
    case("the fallback takes every index.docker.io entry of every file, in file order",
         [["https://index.docker.io/v1/"], ["index.docker.io"]], "nginx",
         ["https://index.docker.io/v1/", "index.docker.io"]),
    case("a dotted-host image never falls back", [["index.docker.io"]], "quay.io/org/app", []),
    case("a host:port image never falls back", [["index.docker.io"]], "host:5000/app", []),
    case("localhost with a port never falls back", [["index.docker.io"]], "localhost:5000/app", []),
    case("an IPv6 host image never falls back", [["index.docker.io"]], "[::1]:5000/app", []),
]


@pytest.mark.parametrize(("configs", "image", "expected"), MATCHES)
def test_kubelet_matching(configs: list[list[str]], image: str, expected: list[str]) -> None:
    assert [m.entry.key for m in lookup(image, configs)] == expected


FALLBACKS = [
    case("a fallback match is flagged and comes through index.docker.io", [["https://index.docker.io/v1/"]],
         "nginx", True),
    case("a direct docker.io match is not a fallback", [["docker.io"]], "nginx", False),
    case("a direct quay.io match is not a fallback", [["quay.io"]], "quay.io/app", False),
]


@pytest.mark.parametrize(("configs", "image", "fallback"), FALLBACKS)
def test_fallback_is_reported(configs: list[list[str]], image: str, fallback: bool) -> None:
    (match,) = lookup(image, configs)
    assert match.fallback is fallback
    if fallback:
        assert match.index_key == DEFAULT_REGISTRY_KEY
        assert "falls back" in match.reason
    else:
        assert match.index_key == match.entry.registry.text
        assert "matches" in match.reason


def test_the_index_is_the_merged_normalised_keys_in_reverse_order() -> None:
    keyring = Keyring([
        entries_of("quay.io", "https://index.docker.io/v1/", "*.example.com"),
        entries_of("https://quay.io/v2/org", "http://quay.io/"),
    ])
    assert keyring.index == ("quay.io/org", "quay.io", "index.docker.io", "*.example.com")


def test_each_matching_entry_keeps_its_own_credentials() -> None:
    keyring = Keyring([entries_of("quay.io"), entries_of("https://quay.io")])
    matches = keyring.lookup("quay.io/app")
    assert [m.entry.password.reveal() for m in matches] == ["pw-0", "pw-0"]
    assert [m.entry.key for m in matches] == ["quay.io", "https://quay.io"]
    assert matches[0].entry is not matches[1].entry


def test_lookup_accepts_a_parsed_image() -> None:
    keyring = Keyring([entries_of("quay.io/org")])
    assert [m.entry.key for m in keyring.lookup(parse_image("quay.io/org/app:1"))] == ["quay.io/org"]


def test_lookup_of_an_invalid_image_is_refused() -> None:
    with pytest.raises(ImageReferenceError):
        Keyring([entries_of("quay.io")]).lookup("quay.io/Org/App")
