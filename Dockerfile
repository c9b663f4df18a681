# Multi-stage build: a static authnzrv binary on a distroless, non-root base.
#   docker build -t authnzrv .
#   docker run -p 13431:13431 -v authnzrv-base:/home/authnzrv/basedir authnzrv
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/authnzrv ./cmd/authnzrv \
 && mkdir -p /out/basedir

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/authnzrv /usr/local/bin/authnzrv
# The base directory belongs to the unprivileged user (distroless nonroot,
# uid 65532) so that autosetup can write the key, salt and database there.
COPY --from=build --chown=65532:65532 /out/basedir /home/authnzrv/basedir
USER nonroot:nonroot
WORKDIR /home/authnzrv/basedir
VOLUME /home/authnzrv/basedir
EXPOSE 13431
ENV AUTHNZERVER_LISTEN=0.0.0.0 \
    AUTHNZERVER_BASEDIR=/home/authnzrv/basedir
# With no configuration: set up the base directory (generated key, salt,
# SQLite database, superuser credentials file) and serve.
ENTRYPOINT ["/usr/local/bin/authnzrv"]
# The image listens on 13431; a different --port needs its own --url here.
HEALTHCHECK --interval=30s --timeout=5s CMD ["/usr/local/bin/authnzrv", "healthcheck", "--url", "http://127.0.0.1:13431/health"]
CMD ["--autosetup", "--basedir", "/home/authnzrv/basedir", "--listen", "0.0.0.0"]
