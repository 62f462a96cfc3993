// conn
