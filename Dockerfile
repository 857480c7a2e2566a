# Écluse's image for those who build with Docker. The release image itself is built
# without a daemon by `make release` (scripts/release.sh): same contents (the static
# binary, a CA bundle, a passwd entry for uid 65532), reproducible to the byte. This file
# gives an equivalent image, not a byte-identical one (its CA bundle is the build
# image's).
#
#   docker build --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg COMMIT=$(git rev-parse HEAD) -t ecluse .

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=
RUN CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -buildid= -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /rootfs/ecluse ./cmd/ecluse
RUN mkdir -p /rootfs/etc/ssl/certs /rootfs/home/nonroot /rootfs/tmp \
 && cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ \
 && printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >/rootfs/etc/passwd \
 && printf 'root:x:0:\nnonroot:x:65532:\n' >/rootfs/etc/group \
 && chown 65532:65532 /rootfs/home/nonroot && chmod 1777 /rootfs/tmp

FROM scratch
COPY --from=build /rootfs/ /
USER 65532:65532
EXPOSE 4873
# No HEALTHCHECK: orchestrators probe /livez and /readyz over HTTP.
ENTRYPOINT ["/ecluse"]
CMD ["serve"]
