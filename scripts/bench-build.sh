#!/bin/sh
# Benchmark `cairn build` against the same command run bare (BENCHMARKS.md, issue 3).
#
# Workload: SQLite 3.44.2 (the ~9 MB amalgamation plus its shell, one `gcc -O2` call),
# taken from the npm registry package sqlite3@5.1.7, which bundles the autoconf tarball.
# Also: start-up cost on a trivial build, and cold toolchain hashing throughput.
#
#   CAIRN=target/release/cairn scripts/bench-build.sh
set -eu
CAIRN=$(realpath "${CAIRN:-target/release/cairn}")
W=${BENCH_DIR:-/tmp/cairn-build-bench}
RUNS=${RUNS:-3}
mkdir -p "$W"
cd "$W"
[ -f sqlite3-5.1.7.tgz ] || npm pack sqlite3@5.1.7 --silent
if [ ! -d sqlite/.git ]; then
  tar xzf sqlite3-5.1.7.tgz package/deps/sqlite-autoconf-3440200.tar.gz
  mkdir -p sqlite
  tar xzf package/deps/sqlite-autoconf-3440200.tar.gz -C sqlite --strip-components=1
  git -C sqlite init -q -b main
  git -C sqlite add -A
  git -C sqlite -c user.name=bench -c user.email=bench@example.com commit -qm sqlite-3.44.2
fi
if [ ! -d tiny/.git ]; then
  mkdir -p tiny && echo tiny > tiny/README
  git -C tiny init -q -b main && git -C tiny add -A
  git -C tiny -c user.name=bench -c user.email=bench@example.com commit -qm tiny
fi
[ -f bench.key ] || "$CAIRN" key generate --out bench >/dev/null
export CAIRN_STATE_DIR="$W/state"
CMD='gcc -O2 -DSQLITE_THREADSAFE=0 -DSQLITE_OMIT_LOAD_EXTENSION -o "$CAIRN_OUTPUT/sqlite3" shell.c sqlite3.c -lm'
mkdir -p bare-out

echo "== cold toolchain hash (empty digest cache) =="
rm -rf "$W/state"
"$CAIRN" build --source tiny --output tiny-out --key bench.key -- sh -c 'echo > "$CAIRN_OUTPUT/x"' | grep -E "toolchain:|time:"

echo "== start-up: trivial build, warm cache =="
hyperfine --warmup 2 --runs 20 -N \
  -n bare "sh -c 'echo > $W/bare-out/x'" \
  -n cairn "$CAIRN build --source tiny --output tiny-out --key bench.key -- sh -c 'echo > \"\$CAIRN_OUTPUT/x\"'"
"$CAIRN" build --source tiny --output tiny-out --key bench.key -- sh -c 'echo > "$CAIRN_OUTPUT/x"' | grep -E "time:"
# The sandbox alone (bwrap with cairn's flag set), for comparison with the notes' figures.
hyperfine --warmup 2 --runs 20 -N -n bwrap-only \
  "bwrap --unshare-all --unshare-user --disable-userns --die-with-parent --new-session --uid 1000 --gid 1000 --hostname builder --clearenv --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib --symlink usr/lib64 /lib64 --proc /proc --dev /dev --tmpfs /tmp -- /bin/true"

echo "== SQLite: bare vs cairn build =="
hyperfine --warmup 0 --runs "$RUNS" --export-json "$W/sqlite.json" \
  -n bare "cd $W/sqlite && CAIRN_OUTPUT=$W/bare-out sh -c '$CMD'" \
  -n cairn "$CAIRN build --source sqlite --output sqlite-out --key bench.key -- sh -c '$CMD'"
"$CAIRN" build --source sqlite --output sqlite-out --key bench.key -- sh -c "$CMD"
ls -la cairn.bundle.json
