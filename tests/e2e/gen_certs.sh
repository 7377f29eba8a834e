#!/bin/sh
# Makes the TLS test certificates in DIR with openssl (no private key is ever committed):
#   ca.pem                  a test root (ECDSA P-256)
#   server.pem/server.key   for DNS:localhost and DNS:foo.test.example, signed by ca
#   client.pem/client.key   CN=alice, URI:spiffe://example.org/alice, signed by ca (mTLS)
#   other-ca.pem            another root
#   other-server.pem/.key   for the same names, signed by other-ca (an "unknown CA")
#   rsa-server.pem/.key     an RSA-2048 server certificate signed by ca
# Usage: gen_certs.sh DIR
set -e
dir=$1
[ -n "$dir" ] || { echo "usage: gen_certs.sh DIR" >&2; exit 2; }
mkdir -p "$dir"
cd "$dir"
umask 077

ec() { openssl ecparam -name prime256v1 -genkey -noout -out "$1" 2>/dev/null; }

root() { # name
  ec "$1.key"
  openssl req -x509 -new -key "$1.key" -sha256 -days 30 -subj "/O=cgrpc tests/CN=$1" \
    -addext "basicConstraints=critical,CA:true" -addext "keyUsage=critical,keyCertSign" \
    -out "$1.pem" 2>/dev/null
}

leaf() { # name ca subject extensions [rsa]
  if [ "$5" = rsa ]; then
    openssl genrsa -out "$1.key" 2048 2>/dev/null
  else
    ec "$1.key"
  fi
  openssl req -new -key "$1.key" -subj "$3" -out "$1.csr" 2>/dev/null
  printf '%s\n' "$4" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 30 \
    -sha256 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

server_ext='subjectAltName=DNS:localhost,DNS:foo.test.example
extendedKeyUsage=serverAuth'
root ca
root other-ca
leaf server ca "/O=cgrpc tests/CN=localhost" "$server_ext"
leaf other-server other-ca "/O=cgrpc tests/CN=localhost" "$server_ext"
leaf rsa-server ca "/O=cgrpc tests/CN=localhost" "$server_ext" rsa
leaf client ca "/O=cgrpc tests/CN=alice" 'subjectAltName=URI:spiffe://example.org/alice
extendedKeyUsage=clientAuth'
rm -f ./*.srl
chmod 644 ./*.pem
