"""A real drag source for the end-to-end tests: a small GTK window that offers one file
as text/uri-list, the way a file manager does, so that the test can drag it onto the app
with the mouse (xdotool) and the app receives an X drag-and-drop, not a simulated event.

    /usr/bin/python3 tests/e2e/drag-source.py FILE

Prints "ready X Y" (the window's centre on the screen) once it is shown, and "dropped"
when a drag from it ends; exits after that, or after 60 seconds.
"""
import sys
from pathlib import Path

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("Gdk", "3.0")
from gi.repository import Gdk, GLib, Gtk  # noqa: E402

uri = Path(sys.argv[1]).resolve().as_uri()
window = Gtk.Window(title="drag-source")
window.set_default_size(160, 100)
window.move(0, 0)
box = Gtk.EventBox()
box.add(Gtk.Label(label=Path(sys.argv[1]).name))
window.add(box)
box.drag_source_set(
    Gdk.ModifierType.BUTTON1_MASK,
    [Gtk.TargetEntry.new("text/uri-list", 0, 0)],
    Gdk.DragAction.COPY,
)
box.connect("drag-data-get", lambda _w, _ctx, data, _info, _time: data.set_uris([uri]))


def ended(*_):
    print("dropped", flush=True)
    GLib.timeout_add(200, Gtk.main_quit)


box.connect("drag-end", ended)


def shown(*_):
    x, y = window.get_position()
    w, h = window.get_size()
    print(f"ready {x + w // 2} {y + h // 2}", flush=True)
    return False


window.connect("map-event", lambda *_: GLib.timeout_add(300, shown))
GLib.timeout_add_seconds(60, Gtk.main_quit)
window.show_all()
Gtk.main()
