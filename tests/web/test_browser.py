"""The page in a real headless Chromium (Debian's package, driven by Playwright; no browser download).

Open the app, pick samples/moving.mp4, choose ``film``, change a key, preview, move the wipe slider
(screenshot kept as a test artifact), start the job, watch progress reach 100 %, open the
comparison; the output's frame count and sound equal those of the CLI with the same settings.
Set ``VIDRESTORE_SCREENSHOT=docs/img/serve.png`` to refresh the README's screenshot from this run.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.web.conftest import MOVING, ROOT
from tests.web.live import Server, chromium_path, cli, media_digest

pytestmark = pytest.mark.slow


def artifacts_dir(tmp_path: Path) -> Path:
    d = Path(os.environ.get("VIDRESTORE_TEST_ARTIFACTS", tmp_path / "artifacts"))
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture
def served(tmp_path: Path):  # noqa: ANN201
    root = tmp_path / "samples"
    root.mkdir()
    shutil.copy2(MOVING, root / "moving.mp4")
    server = Server([root], tmp_path / "state").start()
    yield server, root
    server.stop()


@pytest.fixture
def page(served):  # noqa: ANN201
    from playwright.sync_api import sync_playwright

    exe = chromium_path()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu"])
        pg = browser.new_page(viewport={"width": 1400, "height": 1500})
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        yield pg
        browser.close()
        assert not errors, f"JavaScript errors in the page: {errors}"


def test_pick_set_preview_run_compare(served, page, tmp_path: Path) -> None:
    server, root = served
    art = artifacts_dir(tmp_path)
    page.goto(server.url + "/")
    page.wait_for_selector("body[data-ready='1']")
    # pick: the root, then the clip; the probe facts appear
    page.click("#browser li[data-ref='samples']")
    page.click("#browser li[data-ref='samples/moving.mp4']")
    page.wait_for_function("document.querySelector('#probe').textContent.includes('75 frames')")
    assert "audio #1: aac" in page.inner_text("#probe")
    # set: the film preset, one key changed, a bad value refused with the CLI's message first
    page.select_option("#preset", "film")
    # the film preset's own form, not the command default's one still on screen while the schema loads
    page.wait_for_selector("#form[data-schema='restore/film'] [data-key='film.radius']")
    page.fill("[data-key='film.radius']", "99")
    page.dispatch_event("[data-key='film.radius']", "change")
    page.wait_for_selector("[data-field='film.radius'] .field-error")
    assert page.inner_text("[data-field='film.radius'] .field-error") == "film.radius: must be in [1, 8]"
    # B: the same preset with radius 3, kept to compare two settings on the same frames; A: radius 1
    page.fill("[data-key='film.radius']", "3")
    page.dispatch_event("[data-key='film.radius']", "change")
    page.wait_for_function("document.querySelector('#cmdline').textContent.includes('film.radius=3') && "
                           "document.querySelector('#check-msg').textContent === 'settings valid'")
    page.click("#keep-b")
    assert page.inner_text("#b-label") == "B = film + 1 changes"
    page.fill("[data-key='film.radius']", "1")
    page.dispatch_event("[data-key='film.radius']", "change")
    page.wait_for_function("document.querySelector('#cmdline').textContent.includes('film.radius=1') && "
                           "document.querySelector('#check-msg').textContent === 'settings valid'")
    assert "--set film.radius=1" in page.inner_text("#cmdline") and "--preset film" in page.inner_text("#cmdline")
    assert "radius: 1" in page.inner_text("#yaml")
    assert page.get_attribute("#download-yaml", "href").startswith("blob:")
    assert page.input_value("#output") == "samples/moving.film.mp4"
    page.check("[data-option='save_masks']")
    # preview: a few frames at 1 s, before/after with masks; the wipe moved and the view zoomed
    page.fill("#preview-time", "1.0")
    page.fill("#preview-count", "3")
    page.click("#preview-btn")
    page.wait_for_function("document.querySelector('#preview-status').textContent.includes('ready') || "
                           "document.querySelector('#preview-status').classList.contains('bad')", timeout=600_000)
    page.wait_for_function("document.querySelector('#img-a').naturalWidth > 0 && "
                           "document.querySelector('#img-b').naturalWidth > 0")
    assert page.inner_text("#preview-status") == "frames 24–26 ready"
    page.wait_for_function("!document.querySelector('#ov-dust').hidden && document.querySelector('#ov-dust').src")
    slider = page.locator("#wipe").bounding_box()
    page.mouse.click(slider["x"] + slider["width"] * 0.3, slider["y"] + slider["height"] / 2)
    wipe = int(page.input_value("#wipe"))
    assert 20 <= wipe <= 40, wipe
    # the after picture is cut at that share of the picture's width (letterboxed in the viewer)
    fit = page.evaluate("state.fit")
    want = fit["x"] + wipe / 100 * fit["w"]
    clip = page.evaluate("getComputedStyle(document.querySelector('#pane-b')).clipPath")
    assert clip.startswith("inset(0px 0px 0px ") and abs(float(clip.split()[-1].rstrip("px)")) - want) < 1, clip
    page.locator("#viewer").screenshot(path=str(art / "wipe.png"))
    page.select_option("#view-mode", "side")
    page.click("#zoom-in")
    assert "scale(1.5)" in page.evaluate("document.querySelector('#pane-a .layer').style.transform")
    page.locator("#viewer").screenshot(path=str(art / "side-zoom.png"))
    page.click("#zoom-reset")
    page.select_option("#pair", "a-b")  # the two settings on the same frames
    page.wait_for_function("document.querySelector('#img-a').src.includes('/after/') && "
                           "document.querySelector('#img-b').src.includes('/after/') && "
                           "document.querySelector('#img-a').src !== document.querySelector('#img-b').src && "
                           "document.querySelector('#img-b').naturalWidth > 0")
    assert (page.inner_text("#tag-a"), page.inner_text("#tag-b")) == ("A", "B")
    page.locator("#viewer").screenshot(path=str(art / "a-b.png"))
    page.select_option("#pair", "before-a")
    page.select_option("#view-mode", "wipe")
    # run: start, watch the progress reach 100 %, open the comparison
    page.uncheck("[data-option='save_masks']")
    page.click("#start-btn")
    page.wait_for_selector("#jobs .job")
    job = page.locator("#jobs .job").first
    job_id = job.get_attribute("data-id")
    seen, rates = set(), set()
    for _ in range(2400):
        seen.add(page.inner_text(f".job[data-id='{job_id}'] .pct"))
        rates.add(page.inner_text(f".job[data-id='{job_id}'] .fps"))
        if page.locator(f".job[data-id='{job_id}'].done").count():
            break
        page.wait_for_timeout(250)
    done = page.locator(f".job[data-id='{job_id}']")
    assert done.get_attribute("class") == "job done", page.inner_text(f".job[data-id='{job_id}']")
    assert done.locator(".pct").inner_text() == "100 %"
    assert any(s.endswith(" %") and s not in ("0 %", "100 %") for s in seen), seen  # live progress on the way
    assert any(r.endswith(" fps") for r in rates), rates
    page.wait_for_selector(f".job[data-id='{job_id}'] .extras img")
    compare = done.locator(".extras img[alt='compare.png']")
    compare.scroll_into_view_if_needed()
    page.wait_for_function(f"document.querySelector(\".job[data-id='{job_id}'] .extras img[alt='compare.png']\").naturalWidth > 0")
    with page.context.expect_page() as opened:
        compare.click()
    sheet = opened.value
    sheet.wait_for_load_state()
    assert sheet.url.endswith("/compare.png")
    sheet.close()
    page.screenshot(path=str(art / "page.png"), full_page=True)
    shot = os.environ.get("VIDRESTORE_SCREENSHOT")
    if shot:
        page.set_viewport_size({"width": 1400, "height": 1400})
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(ROOT / shot), full_page=False)
    # the output equals the CLI's in frame count and sound
    ours = media_digest(root / "moving.film.mp4")
    ref = tmp_path / "cli.mp4"
    cli("restore", str(root / "moving.mp4"), "-o", str(ref), "--preset", "film", "--set", "film.radius=1", "-q")
    want = media_digest(ref)
    assert ours["frames"] == want["frames"] == 75
    assert (ours["audio_packets"], ours["audio_sha256"]) == (want["audio_packets"], want["audio_sha256"])
