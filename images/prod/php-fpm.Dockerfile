# Production php-fpm image: the base image (vendor/ already inside) plus the app's source tree. The
# source layer is the only one that changes between releases, so a deploy pushes and pulls a few
# hundred kilobytes, not the dependency tree. The queue worker and the scheduler run this same
# image with another command (environments/*.ts).
#
# Context: the app folder (example/); example/.dockerignore keeps vendor/, tests, .git and local
# caches out, so this COPY cannot overwrite the base image's vendor/.
ARG BASE_IMAGE

# Stage 1: the source beside vendor/, with what Laravel can cache from code alone:
#   route:cache -> bootstrap/cache/routes-v7.php   (routes are code)
#   view:cache  -> storage/framework/views/*.php    (Blade templates are code)
#   the package and service manifests (bootstrap/cache/packages.php, services.php)
# config:cache is not here: config comes from the environment the container starts in (ECS injects
# it, APP_KEY included), so laravel-entrypoint runs it at container start.
FROM ${BASE_IMAGE} AS source
COPY . /var/www/example/
RUN set -eu; \
    cd /var/www/example; \
    mkdir -p bootstrap/cache storage/app storage/framework/cache storage/framework/sessions \
        storage/framework/views storage/logs; \
    # The source is root's and read-only to everyone else; storage/ and bootstrap/cache belong to
    # the pool user alone (0700 dirs): Laravel writes there, and nothing else may.
    # (vendor/ is left alone: it is the base image's, root's already, and touching it here would
    # copy the whole tree into this stage for nothing.)
    find . -path ./vendor -prune -o -exec chown root:root {} + -exec chmod u+rwX,go+rX,go-w {} +; \
    chown -R www-data:www-data storage bootstrap/cache; \
    chmod -R u+rwX,go-rwx storage bootstrap/cache; \
    setpriv --reuid=www-data --regid=www-data --init-groups php artisan route:cache; \
    setpriv --reuid=www-data --regid=www-data --init-groups php artisan view:cache; \
    # Everything but vendor/ (the base image's layer) moves to /out for the one COPY below.
    mkdir /out; \
    for entry in * .[!.]*; do \
        if [ -e "$entry" ] && [ "$entry" != vendor ]; then mv "$entry" /out/; fi; \
    done

# Stage 2: one layer on the base, owners and modes as stage 1 left them.
FROM ${BASE_IMAGE}
COPY --from=source /out/ /var/www/example/
