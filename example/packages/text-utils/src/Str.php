<?php

declare(strict_types=1);

namespace Example\TextUtils;

final class Str
{
    /** Escapes text for an HTML body or a double-quoted attribute. */
    public static function e(string $text): string
    {
        return htmlspecialchars($text, ENT_QUOTES | ENT_SUBSTITUTE | ENT_HTML5, 'UTF-8');
    }

    /** "Hello, World!" -> "hello-world": ASCII only, so it is safe in ids and URLs. */
    public static function slug(string $text): string
    {
        $slug = preg_replace('/[^a-z0-9]+/', '-', strtolower($text)) ?? '';

        return trim($slug, '-');
    }

    /** Joins items as people write them: "a", "a and b", "a, b and c". */
    public static function humanList(array $items, string $and = 'and'): string
    {
        $items = array_values($items);
        $count = count($items);
        if ($count <= 1) {
            return $items[0] ?? '';
        }

        return implode(', ', array_slice($items, 0, -1)) . " {$and} " . $items[$count - 1];
    }
}
