/**
 * A minimal JSON encoder in Python (`jenc`), for the programs we run in sandboxes: the session's
 * supervisor, the verifier's runner and its python-check child. Importing Python's `json` costs
 * them ~15 ms of start-up each (it brings `re` and `enum`); this needs nothing.
 */
export const PY_JSON_ENCODER = String.raw`
_JESC = dict((i, u"\\u%04x" % i) for i in range(32))
_JESC.update({34: u'\\"', 92: u"\\\\", 10: u"\\n", 13: u"\\r", 9: u"\\t"})


def jenc(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v) if v == v and v not in (float("inf"), float("-inf")) else "null"
    if isinstance(v, str):
        return '"' + v.translate(_JESC) + '"'
    if isinstance(v, dict):
        return "{" + ",".join(jenc(str(k)) + ":" + jenc(x) for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(jenc(x) for x in v) + "]"
    return jenc(repr(v))
`;

