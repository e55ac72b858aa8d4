# dqmon container image: a Rust builder stage and a slim Debian runtime.
#   docker build -t dqmon:local .
#   docker run --rm -p 9898:9898 -e DQMON_KAFKA__BOOTSTRAP_SERVERS=kafka:9092 \
#     -e DQMON_HASHING__SECRET=... dqmon:local
# docker-compose.yml builds it for the local stack (dqmon and the simulator).

# --- build ----------------------------------------------------------------------
FROM rust:1-bookworm AS builder

# librdkafka, OpenSSL (ssl-vendored) and zlib (libz-static) are compiled from
# source by their crates with the image's C compiler, make and perl: no packages.

WORKDIR /build

# Dependencies first, in their own layer: stub targets stand in for the sources
# so that editing src/ does not rebuild librdkafka and the crates.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && for b in $(awk '/^\[\[bench\]\]/{f=1;next} f&&/^name *=/{gsub(/[" ]/,"");sub(/name=/,"");print;f=0}' Cargo.toml); do \
      echo 'fn main() {}' > "benches/$b.rs"; \
    done \
 && cargo build --release --locked \
 && rm -rf src

# The sources embed checks/reference (include_str!), so both are needed.
COPY src/ src/
COPY checks/ checks/
# COPY keeps the context's mtimes, which may predate the stub build: touch so
# that cargo rebuilds the dqmon crate itself.
RUN find src -name '*.rs' -exec touch {} + \
 && cargo build --release --locked --bin dqmon \
 && strip target/release/dqmon \
 && ./target/release/dqmon validate --checks checks

# --- runtime --------------------------------------------------------------------
FROM debian:bookworm-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system dqmon \
 && useradd --system --gid dqmon --home-dir /var/lib/dqmon --create-home \
      --shell /usr/sbin/nologin dqmon

COPY --from=builder /build/target/release/dqmon /usr/local/bin/dqmon
# The contracts (checks/) and reference tables; operators may mount their own
# over /etc/dqmon/checks.
COPY checks/ /etc/dqmon/checks/
# Minimal default configuration: everything else keeps dqmon's defaults, and
# any key can be set with DQMON_<SECTION>__<KEY> variables (docker-compose.yml
# sets the Kafka servers and the hashing secret). Mount a full file over it in
# production.
RUN printf '%s\n' \
      '# Image default. Override keys with DQMON_<SECTION>__<KEY> variables or mount a file here.' \
      '[kafka]' \
      'bootstrap_servers = "localhost:9092"' \
      '[store]' \
      'path = "/var/lib/dqmon/dqmon.sqlite"' \
      > /etc/dqmon/dqmon.toml

# The score store: keep it on a volume, it holds every period's scores.
VOLUME /var/lib/dqmon

# Relative paths (the default `checks` folder) resolve under /etc/dqmon.
WORKDIR /etc/dqmon
USER dqmon
EXPOSE 9898
ENTRYPOINT ["dqmon"]
CMD ["run", "--config", "/etc/dqmon/dqmon.toml"]
