"""The web page and the study in a real browser: Playwright driving Debian's Chromium
(``apt-get install chromium``; Playwright's own browser download is not used) against the
app on 127.0.0.1.

Set ``TINCT_SCREENSHOTS=folder`` to save screenshots of the page and the study, and
``TINCT_SCREENSHOT_PHOTOS=folder`` to use real photos instead of the synthetic ones (the
screenshots in docs/images were made so, see docs/serve.md).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="needs the serve extra: pip install 'tinct[serve]'")
playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="needs Playwright for Python: pip install playwright"
)

from serve_helpers import grey_png, live_server, write_photos  # noqa: E402
from tinct.models import list_bundled  # noqa: E402
from tinct.serve import ServeConfig, create_app, make_engine, migrate  # noqa: E402
from tinct.serve.study import create_study  # noqa: E402

CHROMIUM = next(
    (p for p in (os.environ.get("TINCT_CHROMIUM"), shutil.which("chromium"),
                 shutil.which("chromium-browser")) if p),
    None,
)  # fmt: skip

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="no Chromium: apt-get install chromium (or set TINCT_CHROMIUM); .ci/run does",
    ),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

TOKEN = "browser-admin"
SHOTS = os.environ.get("TINCT_SCREENSHOTS")
PHOTOS = os.environ.get("TINCT_SCREENSHOT_PHOTOS")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("browser")
    engine = make_engine(f"sqlite:///{folder / 'studies.db'}")
    migrate(engine)
    create_study(
        engine,
        "demo",
        Path(PHOTOS) if PHOTOS else write_photos(folder / "real", 4),
        ["default", "zhang-cpu"],
        admin_token=TOKEN,
        items_per_participant=3,
        longest_side=256,
    )
    with live_server(create_app(ServeConfig(), engine)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser
        browser.close()


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 900, "height": 760})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / name))


CHROMA_JS = """(id) => {
  const img = document.getElementById(id);
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0);
  const d = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let sum = 0;
  for (let i = 0; i < d.length; i += 4) {
    const m = (d[i] + d[i + 1] + d[i + 2]) / 3;
    sum += Math.abs(d[i] - m) + Math.abs(d[i + 1] - m) + Math.abs(d[i + 2] - m);
  }
  return sum / (d.length / 4) / 3;
}"""


def test_upload_colourise_and_change_saturation(server: str, page: Any, tmp_path: Path) -> None:
    photo = tmp_path / "old photo.png"
    if PHOTOS:  # a real photo, made grey
        from PIL import Image

        first = sorted(p for p in Path(PHOTOS).iterdir() if p.is_file())[0]
        Image.open(first).convert("L").save(photo)
    else:
        photo.write_bytes(grey_png(96, 128))
    page.goto(server)
    page.wait_for_function(
        f"document.getElementById('model').options.length === {len(list_bundled())}"
    )
    page.set_input_files("#file", str(photo))
    page.get_by_role("button", name="Colourise").click()
    page.wait_for_function("document.getElementById('status').textContent === 'Done.'")
    assert page.evaluate(CHROMA_JS, "before") < 0.5  # the grey upload
    coloured = page.evaluate(CHROMA_JS, "after")
    assert coloured > 1.0
    assert page.get_attribute("#download", "download") == "old photo_colour.png"
    shot(page, "serve-page.png")
    page.fill("#saturation", "0")  # a range input: fill sets its value and fires input
    assert page.text_content("#saturation-value") == "0.0"
    page.get_by_role("button", name="Colourise").click()
    page.wait_for_function("document.getElementById('status').textContent === 'Done.'")
    assert page.evaluate(CHROMA_JS, "after") < 0.5 < coloured


def test_complete_a_study_and_see_the_counts(server: str, page: Any) -> None:
    page.goto(f"{server}/study/demo")
    page.get_by_role("button", name="Start").click()
    answered = 0
    while True:
        page.wait_for_function(
            "!document.getElementById('real').disabled || !document.getElementById('done').hidden"
        )
        if page.is_visible("#done"):
            break
        if answered == 1:
            shot(page, "serve-study.png")
        # alternate the mouse and the keyboard (R / C)
        if answered % 2:
            page.keyboard.press("c")
        else:
            page.get_by_role("button", name="Real").click()
        answered += 1
        page.wait_for_function(
            f"document.getElementById('progress').value === {answered} || "
            "!document.getElementById('done').hidden"
        )
    assert answered == 3
    assert page.text_content("#count") == "3 / 3"
    page.goto(f"{server}/study/demo/results?token={TOKEN}")
    rows = page.locator("#results tbody tr")
    assert rows.count() == 3
    counts = {
        rows.nth(i).locator("th").text_content(): int(
            rows.nth(i).locator("td").first.text_content()
        )
        for i in range(3)
    }
    assert set(counts) == {"real", "default", "zhang-cpu"}
    assert sum(counts.values()) == 3  # one per condition: balanced
    assert set(counts.values()) == {1}
    assert page.text_content("#participants") == "1"
    shot(page, "serve-results.png")
