<?php

declare(strict_types=1);

$app = require __DIR__ . '/../bootstrap/app.php';

$method = $_SERVER['REQUEST_METHOD'] ?? 'GET';
$app->handle($method, $_SERVER['REQUEST_URI'] ?? '/')->send($method !== 'HEAD');
