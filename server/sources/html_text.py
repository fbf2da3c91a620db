"""Plain text from the small HTML subset that Mastodon puts in a status's `content`."""

from __future__ import annotations

from html.parser import HTMLParser

_BREAKS = {"br", "p", "li", "div", "blockquote"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BREAKS and self.parts:
            self.parts.append("\n")
        # Mastodon hides the scheme and the long tail of links in invisible spans.
        if tag == "span" and (self._hidden or ("class", "invisible") in attrs):
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def text_of(content: str) -> str:
    """The visible text of a status's HTML, paragraphs on their own lines."""
    parser = _Text()
    parser.feed(content)
    parser.close()
    lines = "".join(parser.parts).split("\n")
    return "\n".join(" ".join(line.split()) for line in lines).strip()
