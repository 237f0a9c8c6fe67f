"Data bundled with metacog: the generated facts corpus (see nbs/01_data.ipynb)."
