"""The dashboard on the screens a control room has (issue 11, "usable by people at work"):
1280x720 and a 1920x1080 wall screen, in Debian's Chromium. Nothing spills sideways, the
queue and the map are in view, and every piece of text meets WCAG AA contrast (4.5:1; 3:1
for large text) against the background it is actually drawn on."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect

from tests.alerting_world import neighbourhood, officer_on_duty
from tests.conftest import ApiFactory, token
from tests.test_dashboard import browser, report  # noqa: F401  (the browser fixture)

# WCAG 2.x relative luminance and contrast, computed in the page on the rendered styles. The
# background is the first opaque one up the tree (rows, panels, the page).
CONTRAST = """() => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => { const f = (v) => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const failures = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || !el || el.closest("#map, [hidden], dialog:not([open])")) continue;
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || getComputedStyle(el).visibility === "hidden") continue;
    const style = getComputedStyle(el);
    const a = lum(rgb(style.color)), b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < need) failures.push(`${n.textContent.trim().slice(0, 40)}: ${ratio.toFixed(2)}`);
  }
  return failures;
}"""


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)], ids=["1280x720", "1920x1080"])
async def test_the_board_fits_the_screen_and_every_text_meets_aa_contrast(
        make_api: ApiFactory, browser: Browser, size: tuple[int, int]) -> None:  # noqa: F811
    api = await make_api()
    await neighbourhood(api)
    await report(api, "my neighbour has collapsed and isn't breathing", "s1")   # escalated
    await officer_on_duty(api, "near", 51.5050, -0.1265)
    await report(api, "he has a knife and he's chasing people, help", "s2")      # alerting
    page = await (await browser.new_context(
        viewport={"width": size[0], "height": size[1]})).new_page()
    await page.goto(f"{api.client.make_url('/dashboard/')}#token={token('control_room', 'sup1')}")
    escalated = page.get_by_role("row", name=re.compile("P1 medical"))
    await expect(escalated).to_have_class(re.compile("escalated"))
    await expect(page.get_by_role("row", name=re.compile("P1 violence"))).to_be_visible()
    await page.get_by_role("row", name=re.compile("P1 violence")).click()   # the details too
    await expect(page.get_by_role("heading", name=re.compile("Incident .* P1 violence"))
                 ).to_be_visible()

    overflow = await page.evaluate(
        "document.scrollingElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{overflow}px of the board is off screen at {size}"
    assert await page.get_by_role("button", name="Take").is_visible()
    map_box = await page.locator("#map").bounding_box()
    assert map_box is not None and map_box["width"] > 300
    if size[0] >= 1600:   # the wall screen: queue and map side by side, both in view
        queue_box = await page.get_by_role("table").bounding_box()
        assert queue_box is not None and queue_box["y"] < size[1] and map_box["y"] < size[1]
        assert map_box["x"] > queue_box["x"] + queue_box["width"] - 1
    assert await page.evaluate(CONTRAST) == []
