"""``python -m vision``: the vision CLI on its own (the service mounts it as ``vitrine vision``)."""

from vision.cli import app

if __name__ == "__main__":
    app(prog_name="vision")
