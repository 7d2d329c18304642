package texts

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOwnerDeclined(t *testing.T) {
	salon, full := fixture(t)
	got := OwnerDeclined(salon, full, "+79161234567", false)
	require.Equal(t, `Клиент не сможет прийти в салон «Бархат».
Клиент: Анна, +79161234567
Визит: пятница, 12 декабря, 14:30 — Стрижка и Укладка
Мастер: Оксана
Свяжитесь с клиентом, чтобы перенести или отменить запись: ему ответили, что с ним свяжутся.`, got)
	requireTidy(t, got)

	got = OwnerDeclined(salon, full, "+79161234567", true)
	require.Contains(t, got, "\nВизит отменён в YClients, время освободилось; клиенту ответили.")
	requireTidy(t, got)

	got = OwnerDeclined(Salon{}, Visit{}, "", false)
	require.Equal(t, `Клиент не сможет прийти.
Свяжитесь с клиентом, чтобы перенести или отменить запись: ему ответили, что с ним свяжутся.`, got)
}

func TestOwnerConfirmNotSaved(t *testing.T) {
	salon, full := fixture(t)
	got := OwnerConfirmNotSaved(salon, full, "+79161234567")
	require.Equal(t, `Клиент подтвердил визит в салон «Бархат», но отметить это в YClients не получилось.
Клиент: Анна, +79161234567
Визит: пятница, 12 декабря, 14:30 — Стрижка и Укладка
Мастер: Оксана
Отметьте в записи «Клиент подтвердил» вручную.`, got)
	requireTidy(t, got)
}
