// placeholder until the loader lands
