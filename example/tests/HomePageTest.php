<?php

declare(strict_types=1);

// Run with `php tests/HomePageTest.php` after composer install; kept out of production images.

$app = require __DIR__ . '/../bootstrap/app.php';

$home = $app->handle('GET', '/');
assert($home->status === 200 && str_contains($home->body, 'Hello, developers, operators and users!'));
$health = $app->handle('GET', '/health');
assert($health->status === 200 && $health->body === "ok\n");
assert($app->handle('GET', '/missing')->status === 404);

echo "ok\n";
