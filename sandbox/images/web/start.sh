#!/bin/sh
# Write the page at start (not build) time: the hostname and address are this container's own.
name=$(hostname)
addr=$(hostname -i 2>/dev/null)
mkdir -p /www
cat > /www/index.html <<PAGE
<!doctype html>
<title>web: $name</title>
<h1>Hello from container $name</h1>
<p>Address: ${addr:-unknown}</p>
PAGE
echo "web: serving http://${addr:-0.0.0.0}:80/ as $name"
exec httpd -f -p 80 -h /www
