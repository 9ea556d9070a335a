// placeholder until the params module lands
