# The production image: bin/aiadmin (no fakes), static, on an empty base.
#
#   docker build --build-arg VERSION=$(git describe --always --dirty) --build-arg COMMIT=$(git rev-parse HEAD) -t aiadmin .
#   docker run --rm aiadmin version
#   docker run --rm --env-file prod.env aiadmin check-config
#   docker run -d --env-file prod.env -p 8080:8080 aiadmin api      (HTTP_ADDR=0.0.0.0:8080 in prod.env)
#   docker run -d --env-file prod.env aiadmin worker
#
# GO_IMAGE may name a local mirror of the Go image.
ARG GO_IMAGE=golang:1.26-bookworm

FROM ${GO_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=
ARG COMMIT=
# CGO off: a static binary that needs no libc; tzdata is embedded by cmd/aiadmin (time/tzdata).
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/aiadmin ./cmd/aiadmin \
 && /out/aiadmin version

FROM scratch
# TLS to YClients, WhatsApp, Temporal Cloud and the webhooks needs the CA certificates.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/aiadmin /aiadmin
# nobody: no root, no shell, nothing else in the image.
USER 65534:65534
ENV HTTP_ADDR=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["/aiadmin"]
CMD ["api"]
