<?php

declare(strict_types=1);

namespace Example\Greeting;

use Example\TextUtils\Str;

final class Greeter
{
    public function __construct(private readonly string $salutation = 'Hello')
    {
    }

    /** @param list<string> $names */
    public function greet(array $names): string
    {
        $names = array_values(array_filter(array_map('trim', $names), 'strlen'));
        if ($names === []) {
            $names = ['world'];
        }

        return "{$this->salutation}, " . Str::humanList($names) . '!';
    }
}
