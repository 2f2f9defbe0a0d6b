# syntax=docker/dockerfile:1
# Build stage: cgo is required, because pg_query_go compiles PostgreSQL's
# own parser (libpg_query) from C.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=1 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/belay ./cmd/belay

# Runtime stage: glibc (the binary is dynamically linked against it), CA
# certificates for upstream TLS, no shell tools, a non-root user.
FROM gcr.io/distroless/base-debian12:nonroot
COPY --from=build /out/belay /usr/local/bin/belay
COPY configs/ /etc/belay/
USER nonroot:nonroot
EXPOSE 6432 9632
ENTRYPOINT ["/usr/local/bin/belay"]
CMD ["serve", "--config", "/etc/belay/belay.yaml", "--listen", "0.0.0.0:6432", "--admin-listen", "0.0.0.0:9632"]
