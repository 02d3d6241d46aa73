# Production php-fpm image: the base image (vendor/ already inside) plus the app's source tree. The
# source layer is the only one that changes between releases, so a deploy pushes and pulls a few
# hundred kilobytes, not the dependency tree.
#
# Context: the repository root; /.dockerignore keeps example/vendor/, tests, .git and build output
# out, so this COPY cannot overwrite the base image's vendor/.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
COPY --chown=www-data:www-data example/ /var/www/example/
