# make demo    - set up (if needed) and run the main job: synthetic scene -> qgis_process detect -> probability, areas, map.png
# make test    - set up (if needed), run the linter, then the whole test suite headless
# make lint    - the linter alone (ruff, configured in pyproject.toml)
# make default-model - rebuild resources/models/dense.pt, detection's default (light strided U-Net, then a fine-tune on
#   its hardest pixels), from scratch: about 1 h, resumable
# make window-model - rebuild resources/models/default.pt, the paper's window classifier, from scratch (hours)
# make model3  - rebuild resources/detect_ascending_descending.model3 (the ready-made Processing model)
# make package - build dist/insar_deformation_detector-<version>.zip for QGIS "Install from ZIP"
# make changelog - write metadata.txt's changelog from CHANGELOG.md
PYTHON := .venv/bin/python
# Headless Qt; QGIS's network cache under build/ rather than ~/.cache (pytest-qgis already keeps
# the QGIS profile in .qgis-settings/, qgis_process runs get a temporary profile and HOME).
TEST_ENV := QT_QPA_PLATFORM=offscreen XDG_CACHE_HOME=$(CURDIR)/build/cache

.PHONY: setup demo lint test default-model window-model model3 package changelog clean
setup:
	scripts/setup.sh

demo: setup
	$(TEST_ENV) $(PYTHON) scripts/demo.py

lint: setup
	.venv/bin/ruff check .

test: lint
	$(TEST_ENV) $(PYTHON) -m pytest

DENSE_STAGE_1 := bench/data/dense-model/light.pt
default-model: setup
	$(PYTHON) scripts/build_dense_model.py --architecture unet_strided_light --crop 160 --maps 800 --steps 12000 \
		--batch-size 8 --output $(DENSE_STAGE_1)
	$(PYTHON) scripts/build_dense_model.py --architecture unet_strided_light --crop 160 --maps 800 --steps 4000 \
		--batch-size 8 --init $(DENSE_STAGE_1) --hard-pixel-share 0.25 --learning-rate 5e-4 \
		--checkpoint bench/data/dense-model/hard-checkpoint.pt --output resources/models/dense.pt

COMPACT_MODEL := bench/data/default-model/compact.pt
window-model: setup
	$(PYTHON) scripts/build_default_model.py --architecture alexnet_compact --output $(COMPACT_MODEL)
	$(PYTHON) scripts/build_default_model.py --architecture alexnet_compact --init $(COMPACT_MODEL) --minutes 45 \
		--context-scenes 8 --output $(COMPACT_MODEL)
	$(PYTHON) scripts/build_default_model.py --architecture alexnet_compact --init $(COMPACT_MODEL) --minutes 25 \
		--context-scenes 8 --consistency-weight 20 --output $(COMPACT_MODEL)
	$(PYTHON) scripts/build_default_model.py --init $(COMPACT_MODEL) --minutes 70

model3: setup
	$(TEST_ENV) $(PYTHON) scripts/build_model3.py

package:
	/usr/bin/python3 scripts/package.py

changelog:
	/usr/bin/python3 scripts/changelog.py

clean:
	rm -rf build dist .qgis-settings .pytest_cache
	find . -name __pycache__ -not -path "./.venv/*" -prune -exec rm -rf {} +
