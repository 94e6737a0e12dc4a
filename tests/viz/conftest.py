import matplotlib

matplotlib.use("Agg")  # no display in CI; the chart functions do not need pyplot, the tests of export do
