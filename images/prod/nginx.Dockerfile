# Production nginx image: the development nginx image plus the app's static files and one
# environment's rendered site config, so nginx serves assets itself and passes PHP to php-fpm.
#
# Context: the repository root, of which /.dockerignore lets only example/public/ and build/nginx/
# through. SITE_CONFIG is the rendered config's path inside the context, e.g.
# build/nginx/staging/site.conf.
ARG DEV_IMAGE=local_example_nginx:latest
FROM ${DEV_IMAGE}
# An ARG declared before FROM is not visible after it; this one is, and has no default on purpose:
# building without an environment's config must fail, not ship an nginx that serves nothing.
ARG SITE_CONFIG
COPY example/public/ /var/www/example/public/
# No `RUN nginx -t` here: an upstream such as the NLB's private DNS name does not resolve on the
# build machine, and nginx -t resolves it. The render step validates the config instead.
COPY ${SITE_CONFIG} /etc/nginx/conf.d/example.conf
