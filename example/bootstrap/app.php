<?php

declare(strict_types=1);

// Shared by public/index.php and artisan, as in Laravel.
require __DIR__ . '/../vendor/autoload.php';

return new App\Application(dirname(__DIR__));
