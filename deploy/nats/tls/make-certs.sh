#!/bin/sh
# Certificates for the leaf-node link between partner regions, with openssl only.
#
#   make-certs.sh DIR ca                      # once, by whoever keeps the partners' CA
#   make-certs.sh DIR region NAME HOST...     # one per region: NAME.key, NAME.crt for HOSTs
#
# HOST is a DNS name or an IP address the partner dials (it must match the URL in
# hub_leaf_urls). Keys are P-256 ECDSA; the CA key never leaves the machine that made it.
set -eu
dir=$1
what=$2
mkdir -p "$dir"
cd "$dir"
umask 077
case "$what" in
ca)
    openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
        -keyout ca.key -out ca.crt -days 3650 -subj "/CN=Fengqiao partners CA"
    ;;
region)
    name=$3
    shift 3
    san=""
    for host in "$@"; do
        case "$host" in
        *[!0-9.]*) entry="DNS:$host" ;;
        *) entry="IP:$host" ;;
        esac
        san="${san:+$san,}$entry"
    done
    openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
        -keyout "$name.key" -out "$name.csr" -subj "/CN=$name"
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$san" > "$name.ext"
    openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
        -out "$name.crt" -days 825 -extfile "$name.ext"
    rm -f "$name.csr" "$name.ext"
    ;;
*)
    echo "usage: $0 DIR ca | $0 DIR region NAME HOST..." >&2
    exit 2
    ;;
esac
