"""HTTP/1.1 on an asyncio stream, for the Python load clients (soak, shared state):
just enough to read one response, chunked or not."""


async def read_response(reader):
    """(status, headers, body) of one HTTP/1.1 response; raises on EOF."""
    line = await reader.readline()
    if not line:
        raise ConnectionResetError("eof before the status line")
    parts = line.split(None, 2)
    status = int(parts[1])
    headers = {}
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionResetError("eof in the headers")
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            body += chunk[:-2]
            if size == 0:
                break
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body
