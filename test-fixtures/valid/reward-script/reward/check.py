print("{\"ok\": 1}")
