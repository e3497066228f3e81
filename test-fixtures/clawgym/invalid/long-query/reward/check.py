import json
print(json.dumps({"ok": False}))
