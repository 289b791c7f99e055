"""The HTTP API of ``tinct serve``: every endpoint, and every refusal with its exact
status and JSON body (never a 500)."""

from __future__ import annotations

import io
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="needs the serve extra: pip install 'tinct[serve]'")
pytest.importorskip("multipart", reason="needs the serve extra: pip install 'tinct[serve]'")

import httpx
from fastapi.testclient import TestClient
from PIL import Image

import tinct
from serve_helpers import encoded, grey_png, live_server, photo
from tinct.color.u8 import lab_lightness_u8
from tinct.models import list_bundled
from tinct.serve import ServeConfig, create_app
from tinct.serve.app import FORM_SLACK
from tinct.serve.inference import PoolFull, WorkerPool

pytestmark = [
    pytest.mark.usefixtures("one_thread"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Using `httpx`"),
]


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(ServeConfig())) as c:
        yield c


def post(client: TestClient, data: bytes, name: str = "photo.png", **options: Any) -> Any:
    form = {k: str(v) for k, v in options.items()}
    return client.post("/v1/colourise", files={"image": (name, data, "image/png")}, data=form)


def error(response: Any, status: int, code: str, field: str | None = None) -> str:
    """Assert the status and error body; return the message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    expected_keys = {"code", "message"} | ({"field"} if field else set())
    assert set(body["error"]) == expected_keys
    assert body["error"]["code"] == code
    if field:
        assert body["error"]["field"] == field
    return str(body["error"]["message"])


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def chroma(rgb: np.ndarray) -> float:
    """Mean spread between the channels: 0 for grey."""
    return float(np.abs(rgb.astype(int) - rgb.mean(axis=2, keepdims=True)).mean())


# --- the endpoints --------------------------------------------------------------------


def test_healthz(client: TestClient) -> None:
    body = client.get("/healthz").json()
    assert body == {
        "status": "ok",
        "models": list_bundled(),
        "workers": 1,
        "queue_capacity": 8,
        "in_flight": 0,
        "database": False,
    }


def test_models_lists_capabilities(client: TestClient) -> None:
    models = {m["name"]: m for m in client.get("/v1/models").json()}
    assert set(models) == set(list_bundled()) >= {"default", "cvae", "zhang-cpu"}
    assert models["cvae"]["supports_sampling"] and not models["cvae"]["supports_temperature"]
    assert models["zhang-cpu"]["supports_temperature"]
    assert not models["default"]["supports_sampling"]
    assert models["default"]["input_size"] == 256


def test_openapi_describes_every_route(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/v1/colourise", "/v1/models", "/healthz", "/study/{name}/answers"} <= set(
        spec["paths"]
    )
    form = spec["paths"]["/v1/colourise"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in form
    assert client.get("/docs").status_code == 200


def test_page_is_self_contained_and_labelled(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    for asset in ("/static/app.js", "/static/style.css"):
        text = client.get(asset).text
        assert "http://" not in text and "https://" not in text  # no CDN, no web fonts
    assert "http://" not in html and "https://" not in html
    for control in ("file", "model", "saturation", "temperature", "samples", "slider"):
        assert f'for="{control}"' in html, control  # every control has a label


def test_colourise_equals_the_library(client: TestClient) -> None:
    grey = grey_png()
    response = post(client, grey, name="old photo.png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-disposition"] == 'inline; filename="old_photo_colour.png"'
    out = decode(response.content)
    expected = tinct.colourise(decode(grey))
    np.testing.assert_array_equal(out, expected)
    assert chroma(out) > 1.0  # it did colour the grey photo
    # the lightness is the input's (up to 8-bit rounding)
    diff = np.abs(lab_lightness_u8(out).astype(int) - lab_lightness_u8(decode(grey)).astype(int))
    assert diff.max() <= 2


def test_saturation_scales_the_colour(client: TestClient) -> None:
    grey = grey_png()
    none = decode(post(client, grey, saturation=0).content)
    one = decode(post(client, grey, saturation=1).content)
    two = decode(post(client, grey, saturation=2).content)
    assert chroma(none) < 0.6 < chroma(one) < chroma(two)


@pytest.mark.parametrize(("fmt", "mime"), [("jpeg", "image/jpeg"), ("webp", "image/webp")])
def test_output_formats(client: TestClient, fmt: str, mime: str) -> None:
    response = post(client, grey_png(), format=fmt)
    assert response.status_code == 200 and response.headers["content-type"] == mime
    assert Image.open(io.BytesIO(response.content)).format == fmt.upper()
    assert decode(response.content).shape == (48, 64, 3)


def test_temperature_for_a_classification_model(client: TestClient) -> None:
    cold = decode(post(client, grey_png(), model="zhang-cpu", temperature=0.1).content)
    warm = decode(post(client, grey_png(), model="zhang-cpu", temperature=1.0).content)
    assert not np.array_equal(cold, warm)


def test_samples_come_as_a_zip_and_repeat_with_a_seed(client: TestClient) -> None:
    first = post(client, grey_png(), name="p.png", model="cvae", samples=3, seed=7)
    assert first.status_code == 200 and first.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(first.content))
    assert archive.namelist() == ["p_colour_1.png", "p_colour_2.png", "p_colour_3.png"]
    images = [decode(archive.read(n)) for n in archive.namelist()]
    assert not np.array_equal(images[0], images[1])
    again = post(client, grey_png(), name="p.png", model="cvae", samples=3, seed=7)
    assert again.content == first.content
    one = post(client, grey_png(), model="cvae", seed=7)
    assert one.headers["content-type"] == "image/png"


# --- refusals -------------------------------------------------------------------------


def test_missing_image(client: TestClient) -> None:
    response = client.post("/v1/colourise", data={"saturation": "1"})
    assert error(response, 422, "invalid_option", "image") == "image is required"


def test_empty_file(client: TestClient) -> None:
    assert error(post(client, b""), 400, "empty_file") == "the uploaded file is empty"


def test_not_an_image(client: TestClient) -> None:
    message = error(post(client, b"GIF? no, just text\n" * 20), 415, "not_an_image")
    assert message == "the uploaded file is not an image"


def test_truncated_image(client: TestClient) -> None:
    data = encoded(photo(64, 64), "PNG")
    message = error(post(client, data[: len(data) // 2]), 400, "corrupt_image")
    assert message.startswith("cannot read the image: corrupt or truncated image data")


def test_decompression_bomb_refused_from_its_header(client: TestClient) -> None:
    """A 100000 x 100000 PNG of a few hundred bytes: refused before any decoding."""
    import struct
    import zlib

    data = bytearray(encoded(np.zeros((8, 8), np.uint8)))
    for width, height in ((10_000, 5_000), (100_000, 100_000)):  # ours, Pillow's limit
        data[16:24] = struct.pack(">II", width, height)
        data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))  # the IHDR's CRC
        message = error(post(client, bytes(data)), 413, "too_many_pixels")
        assert message.startswith("the image is ")
        assert "over the limit of 40000000" in message or "decompression bomb" in message


def test_format_not_accepted() -> None:
    with TestClient(create_app(ServeConfig(formats=("PNG",)))) as only_png:
        response = post(only_png, encoded(photo(), "JPEG"), name="p.jpg")
    message = error(response, 415, "unsupported_format")
    assert message == "JPEG images are not accepted; accepted: PNG"


def test_too_many_pixels() -> None:
    with TestClient(create_app(ServeConfig(max_pixels=1000))) as small:
        response = post(small, grey_png(48, 64))
    message = error(response, 413, "too_many_pixels")
    assert message == "the image is 64x48 = 3072 pixels, over the limit of 1000"


def test_upload_over_the_file_limit() -> None:
    data = encoded(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    limit = len(data) - 100  # the body passes the middleware (slack), the file does not
    with TestClient(create_app(ServeConfig(max_upload_bytes=limit))) as small:
        response = post(small, data)
    assert error(response, 413, "upload_too_large") == (
        f"the image is over the limit of {limit} bytes"
    )


def test_body_over_the_limit_is_refused_from_its_length() -> None:
    data = b"\0" * (FORM_SLACK + 20_000)
    with TestClient(create_app(ServeConfig(max_upload_bytes=1000))) as small:
        response = post(small, data)
    assert error(response, 413, "upload_too_large") == (
        f"the request body is over the limit of {1000 + FORM_SLACK} bytes"
    )


def test_streamed_body_over_the_limit_is_cut_off() -> None:
    """No Content-Length (chunked): the body is counted as it arrives."""
    app = create_app(ServeConfig(max_upload_bytes=1000))
    boundary = "tinctboundary"

    def chunks() -> Iterator[bytes]:
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; '
            'filename="a.png"\r\nContent-Type: image/png\r\n\r\n'
        ).encode()
        for _ in range(200):
            yield b"\0" * 1024
        yield f"\r\n--{boundary}--\r\n".encode()

    with live_server(app) as url:
        response = httpx.post(
            f"{url}/v1/colourise",
            content=chunks(),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
    assert error(response, 413, "upload_too_large").startswith("the request body is over")


@pytest.mark.parametrize(
    ("options", "field", "message"),
    [
        (
            {"model": "nope"},
            "model",
            f"model: unknown model 'nope'; offered: {', '.join(list_bundled())}",
        ),
        (
            {"saturation": "abc"},
            "saturation",
            "saturation: Input should be a valid number, unable to parse string as a number",
        ),
        (
            {"saturation": "-1"},
            "saturation",
            "saturation: Input should be greater than or equal to 0",
        ),
        ({"saturation": "nan"}, "saturation", "saturation: Input should be a finite number"),
        ({"size": "0"}, "size", "size: Input should be greater than or equal to 1"),
        ({"size": "5000"}, "size", "size: Input should be less than or equal to 2048"),
        ({"size": "8"}, "size", "size: at least 32 pixels for model 'default', got 8"),
        (
            {"temperature": "0.4"},
            "temperature",
            "temperature: model 'default' has no temperature (classification models do)",
        ),
        (
            {"model": "zhang-cpu", "temperature": "0"},
            "temperature",
            "temperature: Input should be greater than 0",
        ),
        (
            {"samples": "2"},
            "samples",
            "samples: model 'default' gives one colourisation; sampling needs e.g. cvae",
        ),
        (
            {"seed": "3"},
            "seed",
            "samples: model 'default' gives one colourisation; sampling needs e.g. cvae",
        ),
        ({"model": "cvae", "samples": "9"}, "samples", "samples: at most 8 per request, got 9"),
        (
            {"model": "cvae", "samples": "0"},
            "samples",
            "samples: Input should be greater than or equal to 1",
        ),
        ({"format": "gif"}, "format", "format: Input should be 'png', 'jpeg' or 'webp'"),
    ],
)
def test_bad_options(client: TestClient, options: dict[str, str], field: str, message: str) -> None:
    assert error(post(client, grey_png(), **options), 422, "invalid_option", field) == message


def test_wrong_method_and_unknown_path(client: TestClient) -> None:
    assert error(client.get("/v1/colourise"), 405, "method_not_allowed") == "Method Not Allowed"
    assert error(client.get("/v2/nothing"), 404, "not_found") == "Not Found"


def test_study_routes_without_a_database(client: TestClient) -> None:
    message = error(client.post("/study/x/session"), 503, "no_database")
    assert message == "this server was started without a database"


# --- the worker pool ------------------------------------------------------------------


def test_pool_refuses_beyond_workers_plus_queue() -> None:
    import asyncio

    pool = WorkerPool(workers=1, queue=1)
    gate = threading.Event()

    async def scenario() -> list[Any]:
        jobs = [asyncio.ensure_future(pool.run(gate.wait, 10)) for _ in range(2)]
        await asyncio.sleep(0.05)
        with pytest.raises(PoolFull):
            await pool.run(gate.wait, 10)
        assert pool.in_flight == 2
        gate.set()
        return list(await asyncio.gather(*jobs))

    assert asyncio.run(scenario()) == [True, True]
    assert pool.in_flight == 0
    pool.shutdown()


def test_pool_keeps_the_slot_of_an_abandoned_job() -> None:
    """A caller that stops waiting (a client hanging up) does not free its slot while
    its job still runs."""
    import asyncio

    pool = WorkerPool(workers=1, queue=0)
    gate = threading.Event()

    async def scenario() -> None:
        job = asyncio.ensure_future(pool.run(gate.wait, 10))
        await asyncio.sleep(0.05)
        job.cancel()
        await asyncio.sleep(0.05)
        with pytest.raises(PoolFull):
            await pool.run(gate.wait, 10)
        gate.set()
        for _ in range(100):
            if pool.in_flight == 0:
                break
            await asyncio.sleep(0.01)
        assert await pool.run(lambda: 7) == 7

    asyncio.run(scenario())
    pool.shutdown()


def test_full_queue_answers_503_with_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    import tinct.serve.app as app_module

    gate = threading.Event()
    started = threading.Event()

    def slow(data: bytes, job: Any, max_pixels: int) -> list[bytes]:
        started.set()
        gate.wait(20)
        return [data]

    monkeypatch.setattr(app_module, "colourise_upload", slow)
    app = create_app(ServeConfig(workers=1, queue=0))
    with live_server(app) as url:
        results: list[int] = []
        first = threading.Thread(
            target=lambda: results.append(
                httpx.post(
                    f"{url}/v1/colourise", files={"image": ("a.png", grey_png())}
                ).status_code
            )
        )
        first.start()
        assert started.wait(20)
        busy = httpx.post(f"{url}/v1/colourise", files={"image": ("b.png", grey_png())})
        gate.set()
        first.join(20)
    assert results == [200]
    assert busy.headers["retry-after"] == "2"
    message = error(busy, 503, "busy")
    assert message == "every worker is busy and the queue is full; try again shortly"


# --- the command ----------------------------------------------------------------------


def test_serve_command_refuses_bad_options(capsys: pytest.CaptureFixture[str]) -> None:
    from tinct.cli import main

    assert main(["serve", "--model", "nope", "--no-database"]) == 2
    assert "no model 'nope'" in capsys.readouterr().err
    assert main(["serve", "--model", "x=/no/such.pt", "--no-database"]) == 2
    assert "no model file /no/such.pt" in capsys.readouterr().err
    assert main(["serve", "--queue", "-1", "--no-database"]) == 2
    assert "--queue must be >= 0" in capsys.readouterr().err
    assert main(["serve", "--formats", "PNG,XCF", "--no-database"]) == 2
    assert "unknown upload format(s) ['XCF']" in capsys.readouterr().err


@pytest.mark.slow
def test_serve_command_serves_until_interrupted(tmp_path: Path) -> None:
    """``tinct serve`` as a process: migrates a new database, answers, stops on Ctrl-C."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from serve_helpers import free_port

    port = free_port()
    database = tmp_path / "db" / "studies.db"
    src = Path(tinct.__file__).parents[1]
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "tinct", "serve", "--port", str(port), "--model", "default",
               "--database-url", f"sqlite:///{database}"]  # fmt: skip
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).json()
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        assert health["models"] == ["default"] and health["database"] is True
        response = httpx.post(
            f"http://127.0.0.1:{port}/v1/colourise", files={"image": ("a.png", grey_png())}
        )
        assert response.status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    from tinct.serve import make_engine
    from tinct.serve.db import schema_revision

    assert schema_revision(make_engine(f"sqlite:///{database}")) == "0001"
