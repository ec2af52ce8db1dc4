"""Safe downloads: only allowed hosts over HTTPS (or an operator prefix), a byte cap, a time limit, no partial files."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.base import FailureKind, ProviderError
from adapters.download import MediaPolicy, download, gcs_download_url, refusal, write_base64
from adapters.httpcommon import retry_after_s
from adapters.media import probe_media
from tests.standins.media import sample_mp4
from tests.standins.server import Reply, StandinServer


@pytest.fixture()
def media() -> Iterator[StandinServer]:
    with StandinServer() as server:
        yield server


def policy(server: StandinServer, **overrides: object) -> MediaPolicy:
    values: dict[str, object] = {
        "hosts": ("*.klingai.com",), "allowed_prefixes": (server.url + "/",), "max_bytes": 5_000_000,
        "timeout_s": 5.0, "name": "Kling",
    }
    values.update(overrides)
    return MediaPolicy(**values)  # type: ignore[arg-type]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# which URLs may be fetched ---------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://cdn.klingai.com/bs2/upload-kling-api/x/raw_video_1.mp4", True),
        ("https://v16-kling-fdl.klingai.com/bs2/a.mp4?cacheKey=1", True),
        ("https://klingai.com.evil.example/a.mp4", False),
        ("https://evilklingai.com/a.mp4", False),
        ("http://cdn.klingai.com/a.mp4", False),
        ("https://cdn.klingai.com:8443/a.mp4", False),
        ("https://user:pw@cdn.klingai.com/a.mp4", False),
        ("ftp://cdn.klingai.com/a.mp4", False),
        ("file:///etc/passwd", False),
        ("not a url", False),
    ],
)
def test_kling_hosts(url: str, allowed: bool) -> None:
    rules = MediaPolicy(hosts=("*.klingai.com",), name="Kling")
    assert (refusal(url, rules) is None) is allowed


def test_exact_host_and_path_prefix_patterns() -> None:
    rules = MediaPolicy(hosts=("fal.media", "*.fal.media", "storage.googleapis.com/falserverless/"), name="fal")
    assert refusal("https://fal.media/files/a.mp4", rules) is None
    assert refusal("https://v3.fal.media/files/rabbit/a.mp4", rules) is None
    assert refusal("https://storage.googleapis.com/falserverless/example_outputs/a.mp4", rules) is None
    reason = refusal("https://storage.googleapis.com/someone-else/a.mp4", rules)
    assert reason and "storage.googleapis.com" in reason and "not one of fal's media hosts" in reason


def test_operator_prefix_compares_scheme_host_and_port_exactly() -> None:
    rules = MediaPolicy(hosts=(), allowed_prefixes=("http://127.0.0.1:8000/",), name="fal")
    assert refusal("http://127.0.0.1:8000/media/a.mp4", rules) is None
    assert refusal("http://127.0.0.1:80001/media/a.mp4", rules) is not None
    assert refusal("http://127.0.0.1:8001/media/a.mp4", rules) is not None
    assert refusal("http://127.0.0.1:8000@evil.example/a.mp4", rules) is not None
    assert refusal("https://127.0.0.1:8000/media/a.mp4", rules) is not None
    no_slash = MediaPolicy(hosts=(), allowed_prefixes=("http://127.0.0.1:8000/media",), name="fal")
    assert refusal("http://127.0.0.1:8000/media/a.mp4", no_slash) is None
    assert refusal("http://127.0.0.1:8000/mediaevil/a.mp4", no_slash) is not None


def test_non_https_is_refused_with_a_sentence_and_nothing_fetched(tmp_path: Path, media: StandinServer) -> None:
    url = media.serve_media("/media/a.mp4", sample_mp4())
    rules = policy(media, allowed_prefixes=())  # the stand-in's http URL is not allowed now
    with pytest.raises(ProviderError) as caught:
        download(url, tmp_path / "a.mp4", rules)
    assert caught.value.kind == FailureKind.bad_media
    assert "not HTTPS" in caught.value.message
    assert media.calls() == []
    assert leftovers(tmp_path) == []


def test_wrong_host_is_refused_before_any_request(tmp_path: Path, media: StandinServer) -> None:
    with pytest.raises(ProviderError) as caught:
        download("https://files.example.net/take.mp4", tmp_path / "a.mp4", policy(media))
    assert caught.value.kind == FailureKind.bad_media
    assert "files.example.net" in caught.value.message and "Kling" in caught.value.message
    assert media.calls() == []


# downloading -------------------------------------------------------------------------


def test_download_streams_a_real_mp4_to_disk(tmp_path: Path, media: StandinServer) -> None:
    data = sample_mp4()
    url = media.serve_media("/media/take.mp4", data)
    out = download(url, tmp_path / "take" / "1A.mp4", policy(media))
    assert out.read_bytes() == data
    info = probe_media(out)
    assert info.has_video and info.has_audio
    assert leftovers(out.parent) == ["1A.mp4"]


def test_too_big_by_content_length_is_refused_without_reading(tmp_path: Path, media: StandinServer) -> None:
    url = media.serve_media("/media/huge.mp4", b"x" * 1000, content_length=10 * 1024 * 1024 * 1024)
    with pytest.raises(ProviderError) as caught:
        download(url, tmp_path / "huge.mp4", policy(media, max_bytes=1_000_000))
    assert caught.value.kind == FailureKind.bad_media
    assert "over the 1.0 MB download limit" in caught.value.message
    assert "10240.0 MB" in caught.value.message
    assert leftovers(tmp_path) == []


def test_too_big_by_streamed_size_is_refused_and_the_partial_file_removed(tmp_path: Path, media: StandinServer) -> None:
    url = media.serve_media("/media/endless.mp4", b"\0" * 65536, content_length=None, endless=True)
    with pytest.raises(ProviderError) as caught:
        download(url, tmp_path / "endless.mp4", policy(media, max_bytes=2_000_000))
    assert caught.value.kind == FailureKind.bad_media
    assert "grew past the 1.9 MB download limit" in caught.value.message
    assert leftovers(tmp_path) == []


def test_a_lying_small_content_length_does_not_beat_the_cap(tmp_path: Path, media: StandinServer) -> None:
    # No Content-Length but a body bigger than the cap: the streamed count decides.
    url = media.serve_media("/media/big.mp4", b"\1" * 3_000_000, content_length=None)
    with pytest.raises(ProviderError) as caught:
        download(url, tmp_path / "big.mp4", policy(media, max_bytes=1_000_000))
    assert "download limit" in caught.value.message
    assert leftovers(tmp_path) == []


def test_a_stalled_server_times_out(tmp_path: Path, media: StandinServer) -> None:
    url = media.serve_media("/media/stall.mp4", sample_mp4(), stall_s=5.0)
    started = time.monotonic()
    with pytest.raises(ProviderError) as caught:
        download(url, tmp_path / "stall.mp4", policy(media, timeout_s=0.5))
    assert time.monotonic() - started < 4.0
    assert caught.value.kind == FailureKind.bad_media
    assert caught.value.message == "the download from Kling took longer than 0.5 s"
    assert leftovers(tmp_path) == []


def test_a_drip_fed_download_hits_the_total_time_limit(tmp_path: Path, media: StandinServer) -> None:
    url = media.serve_media("/media/drip.mp4", b"\2" * 4096, content_length=None, endless=True, chunk=1024, drip_s=0.1)
    started = time.monotonic()
    with pytest.raises(ProviderError) as caught:
        download(url, tmp_path / "drip.mp4", policy(media, timeout_s=1.0))
    assert time.monotonic() - started < 5.0
    assert caught.value.kind == FailureKind.bad_media
    assert "took longer than 1 s" in caught.value.message
    assert leftovers(tmp_path) == []


def test_redirect_to_an_allowed_url_is_followed(tmp_path: Path, media: StandinServer) -> None:
    target = media.serve_media("/media/real.mp4", sample_mp4())
    start = media.serve_media("/media/start.mp4", b"", redirect_to=target)
    out = download(start, tmp_path / "r.mp4", policy(media))
    assert out.read_bytes() == sample_mp4()
    assert [c.path for c in media.calls("GET")] == ["/media/start.mp4", "/media/real.mp4"]


def test_redirect_to_another_host_is_refused(tmp_path: Path, media: StandinServer) -> None:
    start = media.serve_media("/media/start.mp4", b"", redirect_to="https://evil.example.com/a.mp4")
    with pytest.raises(ProviderError) as caught:
        download(start, tmp_path / "r.mp4", policy(media))
    assert caught.value.kind == FailureKind.bad_media
    assert "redirected elsewhere" in caught.value.message and "evil.example.com" in caught.value.message
    assert leftovers(tmp_path) == []


def test_credentials_are_sent_only_to_the_first_host(tmp_path: Path) -> None:
    with StandinServer() as first, StandinServer() as second:
        target = second.serve_media("/media/real.mp4", sample_mp4())
        start = first.serve_media("/media/start.mp4", b"", redirect_to=target)
        rules = MediaPolicy(hosts=(), allowed_prefixes=(first.url + "/", second.url + "/"), name="Veo")
        download(start, tmp_path / "r.mp4", rules, headers={"Authorization": "Bearer secret-token"})
        assert first.calls()[0].headers["authorization"] == "Bearer secret-token"
        # Different port is a different origin: the token stays behind.
        assert "authorization" not in second.calls()[0].headers


def test_an_expired_link_is_reported_as_expired(tmp_path: Path, media: StandinServer) -> None:
    url = media.serve_media("/media/gone.mp4", b"", status=404)
    with pytest.raises(ProviderError) as caught:
        download(url, tmp_path / "g.mp4", policy(media))
    assert caught.value.kind == FailureKind.expired
    assert "HTTP 404" in caught.value.message


def test_a_busy_media_host_means_retry_with_its_retry_after(tmp_path: Path, media: StandinServer) -> None:
    media.script("GET", r"^/media/busy\.mp4$", Reply(503, {"error": "busy"}, headers={"Retry-After": "12"}))
    url = media.serve_media("/media/busy.mp4", sample_mp4())
    with pytest.raises(ProviderError) as caught:
        download(url, tmp_path / "b.mp4", policy(media))
    assert caught.value.kind == FailureKind.retry
    assert caught.value.retry_after_s == 12.0
    # the next try gets the file
    assert download(url, tmp_path / "b.mp4", policy(media)).read_bytes() == sample_mp4()


def test_an_unreachable_media_host_means_retry(tmp_path: Path) -> None:
    server = StandinServer().start()
    url = server.url + "/media/a.mp4"
    rules = MediaPolicy(hosts=(), allowed_prefixes=(server.url + "/",), timeout_s=2.0)
    server.stop()
    with pytest.raises(ProviderError) as caught:
        download(url, tmp_path / "a.mp4", rules)
    assert caught.value.kind == FailureKind.retry


# inline results and Cloud Storage --------------------------------------------------------


def test_base64_results_are_decoded_to_the_file(tmp_path: Path) -> None:
    data = sample_mp4()
    out = write_base64(base64.b64encode(data).decode(), tmp_path / "inline.mp4", max_bytes=10_000_000)
    assert out.read_bytes() == data
    assert probe_media(out).has_video


def test_base64_results_over_the_cap_are_refused_before_decoding(tmp_path: Path) -> None:
    encoded = base64.b64encode(b"\0" * 3_000_000).decode()
    with pytest.raises(ProviderError) as caught:
        write_base64(encoded, tmp_path / "inline.mp4", max_bytes=1_000_000)
    assert caught.value.kind == FailureKind.bad_media and "over the 1.0 MB limit" in caught.value.message
    assert leftovers(tmp_path) == []


def test_invalid_base64_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProviderError) as caught:
        write_base64("not*base64!", tmp_path / "inline.mp4", max_bytes=1_000_000)
    assert caught.value.kind == FailureKind.bad_media and "not valid base64" in caught.value.message


def test_gcs_uris_map_to_the_storage_json_api() -> None:
    assert gcs_download_url("gs://my-bucket/out/op 1/sample_0.mp4") == (
        "https://storage.googleapis.com/storage/v1/b/my-bucket/o/out%2Fop%201%2Fsample_0.mp4?alt=media"
    )
    with pytest.raises(ProviderError):
        gcs_download_url("gs://only-a-bucket")
    with pytest.raises(ProviderError):
        gcs_download_url("https://storage.googleapis.com/x")


# Retry-After ---------------------------------------------------------------------------


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after_s({"Retry-After": "7"}) == 7.0
    assert retry_after_s({"Retry-After": "1.5"}) == 1.5
    now = 1_800_000_000.0
    import email.utils

    date = email.utils.formatdate(now + 30, usegmt=True)
    assert retry_after_s({"Retry-After": date}, now=now) == pytest.approx(30.0, abs=1.0)
    assert retry_after_s({"Retry-After": email.utils.formatdate(now - 30, usegmt=True)}, now=now) == 0.0
    assert retry_after_s({"Retry-After": "soon"}) is None
    assert retry_after_s({}) is None
    assert retry_after_s({"Retry-After": "99999999"}) == 3600.0


FAL_POLICY = MediaPolicy(hosts=("fal.media", "*.fal.media", "storage.googleapis.com/falserverless/"), name="fal")


@pytest.mark.parametrize("url", [
    "https://storage.googleapis.com/falserverless/../other/x.mp4",
    "https://storage.googleapis.com/falserverless/%2e%2e/other/x.mp4",
    "https://storage.googleapis.com/falserverless/%2E%2e/other/x.mp4",
    "https://storage.googleapis.com/falserverless/.%2e/other/x.mp4",
    "https://storage.googleapis.com/falserverless/%252e%252e/other/x.mp4",
    "https://storage.googleapis.com/falserverless/..%5cother/x.mp4",
    "https://storage.googleapis.com/falserverless/a\\..\\..\\other/x.mp4",
    "https://v3.fal.media/files/./x.mp4",
])
def test_dot_segments_and_backslashes_never_pass_a_host_or_prefix_check(url: str) -> None:
    assert refusal(url, FAL_POLICY) == ("its result link has a path with dot segments or backslashes, which is "
                                        "not allowed")


def test_ordinary_paths_still_pass() -> None:
    assert refusal("https://storage.googleapis.com/falserverless/example_outputs/a..b.mp4", FAL_POLICY) is None
    assert refusal("https://v3.fal.media/files/rabbit/x.mp4", FAL_POLICY) is None


def test_dot_segments_are_refused_under_an_operator_prefix_too(tmp_path: Path, media: StandinServer) -> None:
    media.serve_media("/secret.mp4", sample_mp4())
    with pytest.raises(ProviderError) as caught:
        download(media.url + "/media/../secret.mp4", tmp_path / "x.mp4", policy(media))
    assert "dot segments" in caught.value.message and media.calls() == []


def test_one_deadline_covers_a_chain_of_slow_redirects(tmp_path: Path, media: StandinServer) -> None:
    """Each hop answers within the time limit, but together they do not: the download is refused."""
    final = media.serve_media("/media/final.mp4", sample_mp4())
    url = final
    for hop in range(4):
        url = media.serve_media(f"/media/hop{hop}.mp4", b"", redirect_to=url, stall_s=0.6)
    with pytest.raises(ProviderError) as caught:
        download(url, tmp_path / "slow.mp4", policy(media, timeout_s=1.0))
    assert caught.value.message == "the download from Kling took longer than 1 s"
    assert not media.calls("GET", "/media/final.mp4")  # the chain was cut before its end
    assert leftovers(tmp_path) == []


def test_the_media_host_is_asked_for_the_file_as_it_is(tmp_path: Path, media: StandinServer) -> None:
    url = media.serve_media("/media/plain.mp4", sample_mp4())
    download(url, tmp_path / "plain.mp4", policy(media))
    assert media.calls("GET", "/media/plain.mp4")[0].headers.get("accept-encoding") == "identity"
