#!/usr/bin/python3
"""Data for predict.test.mjs (standard library + the HTTP tests' helpers):
    predict_setup.py model DIR      trains the tiny bars model into DIR/models
    predict_setup.py files DIR      writes DIR/bars.zip and DIR/img/*.png
    predict_setup.py register DB PROJECT_ID   adds the model rows, prints id
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "http"))
import wdlib  # noqa: E402


class _Stack:
    def __init__(self, d, db=None):
        self.data = os.path.join(d, "data")
        self.models = os.path.join(d, "models")
        self.db = db

    execute = wdlib.Stack.execute


def main():
    what, arg = sys.argv[1], sys.argv[2]
    if what == "model":
        wdlib.train_tiny(_Stack(arg))
    elif what == "files":
        files = {}
        for i in range(36):
            files["bars/%s/%02d.png" % (wdlib.BAR_CLASSES[i % 3], i)] = \
                wdlib.bars_png(i % 3, 100 + i)
        files["bars/h/readme.txt"] = b"not an image"
        with open(os.path.join(arg, "bars.zip"), "wb") as f:
            f.write(wdlib.zip_of(files))
        os.makedirs(os.path.join(arg, "img"), exist_ok=True)
        for cls, ch, name in ((0, 1, "h-gray.png"), (1, 4, "v-rgba.png"),
                              (2, 3, "sq-rgb.png")):
            with open(os.path.join(arg, "img", name), "wb") as f:
                f.write(wdlib.bars_png(cls, 7 + cls, ch))
    elif what == "register":
        print(wdlib.add_model(_Stack("/nonexistent", db=arg), int(sys.argv[3]),
                              "runs/1/model.tym", 1.0))


main()
