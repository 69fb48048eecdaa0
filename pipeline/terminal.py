"""Text made safe to print on a terminal.

Article text is untrusted: an escape sequence in a crawled page could clear the screen, recolour
the output, set the window title or, through bidirectional overrides, show text in another order
than it is stored in. Commands that print article text pass it through :func:`terminal_safe`;
the tables keep the text exactly as it was read.
"""

from __future__ import annotations

import re

#: ESC-introduced sequences: CSI (ESC [ … final), OSC (ESC ] … BEL or ESC \), other two-byte
#: escapes, and their 8-bit C1 forms (CSI U+009B, OSC U+009D).
_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"  # CSI
    r"|(?:\x1b[\]PX^_]|[\x9d\x90\x98\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC, DCS…
    r"|\x1b[ -/]*[0-~]"  # two-byte escapes
)
#: C0 controls except tab and newline, DEL, C1 controls, and bidirectional overrides/isolates.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
#: What JSON output escapes beyond what :func:`json.dumps` does with ``ensure_ascii=False``.
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    """``text`` without escape sequences and control characters (newlines and tabs kept;
    a carriage return becomes a newline, since it would overwrite the line on screen)."""
    text = _ESCAPE_SEQUENCE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _CONTROL.sub("", text)


def json_terminal_safe(text: str) -> str:
    """JSON text with the characters a terminal acts on written as ``\\uXXXX`` escapes (the
    JSON value is unchanged; ``json.dumps`` already escapes C0 controls)."""
    return _JSON_UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
