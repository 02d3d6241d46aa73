<?php

declare(strict_types=1);

// Settings come from the environment (ECS task definitions set them), with local defaults.
return [
    'name' => getenv('APP_NAME') ?: 'Example',
    'env' => getenv('APP_ENV') ?: 'local',
    'salutation' => getenv('APP_SALUTATION') ?: 'Hello',
    'greet' => array_filter(explode(',', getenv('APP_GREET') ?: 'developers,operators,users')),
];
